module example.com/edge-gateway

go 1.22

require (
	github.com/gorilla/websocket v1.5.1
	golang.org/x/net v0.17.0
	golang.org/x/crypto v0.21.0
	google.golang.org/grpc v1.58.2
)
