// Package main is CoreDNS v1.15.0 with only the plugins the pod runner's cluster DNS uses,
// registered the way CoreDNS documents for builds outside its tree (dnsserver.Directives):
// the full build compiles every cloud provider's SDK, which the tests never call.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/template"
)

func init() {
	dnsserver.Directives = []string{"bind", "errors", "log", "file", "template"}
}

func main() {
	coremain.Run()
}
