//go:build tools

// Package tools pins ipfs-cluster; `go install` of it fails here on the proxy's refused version
// list, which `go build` in a module does not read.
package tools

import (
	_ "github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl"
	_ "github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service"
)
