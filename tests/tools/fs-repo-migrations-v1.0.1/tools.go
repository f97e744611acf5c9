//go:build tools

// Package tools pins the 15-to-16 repo migration; `go install` of it fails here on the proxy's
// refused version list (read for deprecations), which `go build` in a module does not read.
package tools

import _ "github.com/ipfs/fs-repo-migrations/fs-repo-15-to-16"
