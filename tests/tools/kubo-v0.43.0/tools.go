//go:build tools

// Package tools pins kubo so that `go build github.com/ipfs/kubo/cmd/ipfs` resolves from this
// module, which carries kubo's exclude directives.
package tools

import _ "github.com/ipfs/kubo/cmd/ipfs"
