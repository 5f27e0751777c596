#!/bin/sh
# A minimal MCP server over stdio in POSIX sh, for the sandbox image (busybox, no node):
# one JSON-RPC message per line in, one per line out (the MCP stdio transport). It
# answers initialize, ping, tools/list and tools/call; notifications get no answer.
# Tools: `facts` tells where it runs (uid, mounts, network interfaces), `count_words`
# counts the words of its `text` argument. It relies on the SDK client putting "method"
# first and "id" last in a request, and on arguments without escaped quotes.

reply() { printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$1" "$2"; }
text() { reply "$1" "{\"content\":[{\"type\":\"text\",\"text\":\"$2\"}]}"; }

while IFS= read -r line; do
  method=$(printf '%s' "$line" | sed -n 's/^[^"]*"method":"\([^"]*\)".*/\1/p')
  id=$(printf '%s' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\)[,}]*$/\1/p')
  [ -n "$id" ] || continue # a notification
  case "$method" in
    initialize)
      version=$(printf '%s' "$line" | sed -n 's/.*"protocolVersion":"\([^"]*\)".*/\1/p')
      reply "$id" "{\"protocolVersion\":\"$version\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"facts\",\"version\":\"1.0.0\"}}"
      ;;
    ping) reply "$id" '{}' ;;
    tools/list)
      reply "$id" '{"tools":[{"name":"facts","description":"Where this server runs","inputSchema":{"type":"object","properties":{}}},{"name":"count_words","description":"Counts the words of a text","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}]}'
      ;;
    tools/call)
      tool=$(printf '%s' "$line" | sed -n 's/.*"params":{"name":"\([^"]*\)".*/\1/p')
      case "$tool" in
        facts)
          root=$(awk '$2 == "/" { split($4, o, ","); print o[1] }' /proc/mounts)
          config=$(awk '$2 == "/config" { split($4, o, ","); print o[1] }' /proc/mounts)
          nets=$(ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')
          text "$id" "uid=$(id -u) root=$root config=$config cwd=$(pwd) net=$nets"
          ;;
        count_words)
          words=$(printf '%s' "$line" | sed -n 's/.*"arguments":{"text":"\([^"]*\)".*/\1/p' | wc -w)
          text "$id" "$words words"
          ;;
        *) reply "$id" "{\"content\":[{\"type\":\"text\",\"text\":\"no tool $tool\"}],\"isError\":true}" ;;
      esac
      ;;
    *) printf '{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"no method %s"}}\n' "$id" "$method" ;;
  esac
done
