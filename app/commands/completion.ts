// `caduceus completion bash|zsh|fish`: prints a completion script for the shell, built from
// the command list (commands, their subcommands, and the flags every command shares), so
// it never lists a command that does not exist. Install it the way kubectl's is installed.

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import type { CommandSpec } from '../../reconciler/types.js';

const HELP = `usage: caduceus completion bash|zsh|fish

Prints a shell completion script for caduceus:
  bash:  source <(caduceus completion bash)          (or save it in /etc/bash_completion.d/caduceus)
  zsh:   caduceus completion zsh > "\${fpath[1]}/_caduceus"
  fish:  caduceus completion fish > ~/.config/fish/completions/caduceus.fish`;

/** Flags most commands take; offered after any command. */
const COMMON_FLAGS = ['--help', '--json', '--output', '--state-dir'];

function bash(commands: readonly CommandSpec[]): string {
  const subs = commands
    .filter((c) => c.subcommands?.length)
    .map((c) => `    ${c.name}) subs="${(c.subcommands ?? []).join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for caduceus (caduceus completion bash)
_caduceus() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="\${COMP_WORDS[1]}" subs=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.map((c) => c.name).join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "$cmd" in
${subs}
  esac
  if [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "${COMMON_FLAGS.join(' ')}" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _caduceus caduceus
`;
}

function zsh(commands: readonly CommandSpec[]): string {
  const q = (s: string): string => s.replace(/'/g, "'\\\\''").replace(/:/g, '\\\\:');
  const list = commands.map((c) => `    '${c.name}:${q(c.summary)}'`).join('\n');
  const subs = commands
    .filter((c) => c.subcommands?.length)
    .map((c) => `        ${c.name}) _values 'subcommand' ${(c.subcommands ?? []).join(' ')} ;;`)
    .join('\n');
  return `#compdef caduceus
# zsh completion for caduceus (caduceus completion zsh)
_caduceus() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  if (( CURRENT == 3 )); then
    case "\${words[2]}" in
${subs}
        *) _files ;;
    esac
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _values 'flag' ${COMMON_FLAGS.join(' ')}
  else
    _files
  fi
}
compdef _caduceus caduceus
`;
}

function fish(commands: readonly CommandSpec[]): string {
  const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# fish completion for caduceus (caduceus completion fish)',
    'complete -c caduceus -f',
    ...commands.map((c) => `complete -c caduceus -n __fish_use_subcommand -a ${c.name} -d ${q(c.summary)}`),
    ...commands
      .filter((c) => c.subcommands?.length)
      .map(
        (c) =>
          `complete -c caduceus -n '__fish_seen_subcommand_from ${c.name}' -a ${q((c.subcommands ?? []).join(' '))}`,
      ),
    ...COMMON_FLAGS.map((f) => `complete -c caduceus -l ${f.slice(2)}`),
    "complete -c caduceus -s o -x -a 'json yaml text' -d 'output format'",
  ];
  return `${lines.join('\n')}\n`;
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, {}, HELP);
    if (!args) return 0;
    const shell = args.positionals[0];
    const { allCommands } = await import('../command-list.js');
    const commands = await allCommands();
    const scripts: Record<string, (c: readonly CommandSpec[]) => string> = { bash, zsh, fish };
    const make = shell ? scripts[shell] : undefined;
    if (!make) throw new UsageError(`say which shell: bash, zsh or fish\n\n${HELP}`);
    process.stdout.write(make(commands));
    return 0;
  });
}
