// Command argocd-cmp-server is Argo CD's config-management-plugin server, as the argocd binary
// runs it when invoked under that name (cmd/main.go of github.com/argoproj/argo-cd/v3): the same
// logger set-up and the same command, without linking the other components into the binary.
// cmd/main.go also turns off gRPC's DNS SRV lookups, which only the grpclb balancer that
// another component links turns on: this binary does not link it, so they stay off
// (util/grpc.DisableSRVLookups panics when they were never on).
package main

import (
	"os"

	"k8s.io/klog/v2"

	cmpserver "github.com/argoproj/argo-cd/v3/cmd/argocd-cmp-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	command := cmpserver.NewCommand()
	command.SilenceErrors = true
	command.SilenceUsage = true
	if err := command.Execute(); err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
