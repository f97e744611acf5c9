// Command kotalc-cmp-client drives a config-management-plugin server as Argo CD's repo server
// does, with Argo CD's own code: the plugin is found with util/app/discovery (the socket
// directory is $ARGOCD_PLUGINSOCKFILEPATH, as for the repo server), the application's files
// are streamed with util/cmp, the Application's plugin env and parameters become variables
// with pkg/apis/application/v1alpha1, and the manifests are split with gitops-engine, as
// reposerver/repository does in runConfigManagementPluginSidecars and
// populatePluginAppDetails. Those two functions are not exported; their few lines of glue are
// repeated here, every call in them is Argo CD's.
//
//	kotalc-cmp-client generate   APPLICATION.yaml REPO_ROOT REVISION
//	kotalc-cmp-client parameters APPLICATION.yaml REPO_ROOT
//	kotalc-cmp-client discover   REPO_ROOT PATH
//
// generate prints each object as one line of JSON; parameters prints the announcement as
// JSON; discover prints the plugin found without a name (discovery alone) or fails. An error
// is printed on stderr as the repo server reports it, exit 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes/empty"
	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/utils/kube"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/app/discovery"
	"github.com/argoproj/argo-cd/v3/util/cmp"
	utilio "github.com/argoproj/argo-cd/v3/util/io"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: kotalc-cmp-client generate|parameters|discover ..."))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "generate":
		err = generate(ctx, os.Args[2], os.Args[3], os.Args[4])
	case "parameters":
		err = parameters(ctx, os.Args[2], os.Args[3])
	case "discover":
		err = discover(ctx, os.Args[2], os.Args[3])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err.Error())
	os.Exit(1)
}

func application(path string) (*v1alpha1.Application, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var app v1alpha1.Application
	if err := yaml.UnmarshalStrict(data, &app); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if app.Spec.Source == nil || app.Spec.Source.Plugin == nil {
		return nil, fmt.Errorf("%s: no spec.source.plugin", path)
	}
	return &app, nil
}

// pluginEnv is reposerver/repository's getPluginParamEnvs: the plugin env, substituted and
// prefixed with ARGOCD_ENV_, and the parameters' variables.
func pluginEnv(envVars []string, plugin *v1alpha1.ApplicationSourcePlugin) ([]string, error) {
	env := envVars
	parsed := make(v1alpha1.Env, len(env))
	for i, v := range env {
		entry, err := v1alpha1.NewEnvEntry(v)
		if err != nil {
			return nil, fmt.Errorf("failed to parse env vars")
		}
		parsed[i] = entry
	}
	if plugin != nil {
		for _, entry := range plugin.Env {
			env = append(env, fmt.Sprintf("ARGOCD_ENV_%s=%s", entry.Name, parsed.Envsubst(entry.Value)))
		}
		params, err := plugin.Parameters.Environ()
		if err != nil {
			return nil, fmt.Errorf("failed to generate env vars from parameters: %w", err)
		}
		env = append(env, params...)
	}
	return env, nil
}

// generate is runConfigManagementPluginSidecars and generateManifestsCMP, with the variables
// of newEnv and getPluginEnvs (a cluster at Kubernetes 1.33).
func generate(ctx context.Context, appFile, repoRoot, revision string) error {
	app, err := application(appFile)
	if err != nil {
		return err
	}
	source := app.Spec.Source
	short := func(n int) string { return revision[:min(n, len(revision))] }
	base := v1alpha1.Env{
		{Name: "ARGOCD_APP_NAME", Value: app.Name},
		{Name: "ARGOCD_APP_NAMESPACE", Value: app.Spec.Destination.Namespace},
		{Name: "ARGOCD_APP_PROJECT_NAME", Value: app.Spec.Project},
		{Name: "ARGOCD_APP_REVISION", Value: revision},
		{Name: "ARGOCD_APP_REVISION_SHORT", Value: short(7)},
		{Name: "ARGOCD_APP_REVISION_SHORT_8", Value: short(8)},
		{Name: "ARGOCD_APP_SOURCE_REPO_URL", Value: source.RepoURL},
		{Name: "ARGOCD_APP_SOURCE_PATH", Value: source.Path},
		{Name: "ARGOCD_APP_SOURCE_TARGET_REVISION", Value: source.TargetRevision},
	}
	envVars := append(base.Environ(), "KUBE_VERSION=1.33.13", "KUBE_API_VERSIONS=v1,apps/v1,networking.k8s.io/v1,bitnami.com/v1alpha1")
	env, err := pluginEnv(envVars, source.Plugin)
	if err != nil {
		return err
	}
	appPath := filepath.Join(repoRoot, source.Path)
	conn, client, err := discovery.DetectConfigManagementPlugin(ctx, appPath, repoRoot, source.Plugin.Name, env, nil)
	if err != nil {
		return err
	}
	defer utilio.Close(conn)
	if _, err := client.CheckPluginConfiguration(ctx, &empty.Empty{}); err != nil {
		return fmt.Errorf("error calling cmp-server checkPluginConfiguration: %w", err)
	}
	stream, err := client.GenerateManifest(ctx, grpc_retry.Disable())
	if err != nil {
		return fmt.Errorf("error getting generateManifestStream: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appPath, repoRoot, stream, env, nil); err != nil {
		return fmt.Errorf("error sending file to cmp-server: %w", err)
	}
	response, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("error generating manifests in cmp: %w", err)
	}
	var out strings.Builder
	for _, manifest := range response.Manifests {
		objects, err := kube.SplitYAML([]byte(manifest))
		if err != nil {
			return fmt.Errorf("failed to convert CMP manifests to unstructured objects: %s", err.Error())
		}
		for _, object := range objects {
			line, err := json.Marshal(object.Object)
			if err != nil {
				return err
			}
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

// parameters is populatePluginAppDetails: what the UI shows as the plugin's parameters.
func parameters(ctx context.Context, appFile, repoRoot string) error {
	app, err := application(appFile)
	if err != nil {
		return err
	}
	source := app.Spec.Source
	env, err := pluginEnv([]string{
		"ARGOCD_APP_NAME=" + app.Name,
		"ARGOCD_APP_SOURCE_REPO_URL=" + source.RepoURL,
		"ARGOCD_APP_SOURCE_PATH=" + source.Path,
		"ARGOCD_APP_SOURCE_TARGET_REVISION=" + source.TargetRevision,
	}, source.Plugin)
	if err != nil {
		return fmt.Errorf("failed to get env vars for plugin: %w", err)
	}
	appPath := filepath.Join(repoRoot, source.Path)
	conn, client, err := discovery.DetectConfigManagementPlugin(ctx, appPath, repoRoot, source.Plugin.Name, env, nil)
	if err != nil {
		return fmt.Errorf("failed to detect CMP for app: %w", err)
	}
	defer utilio.Close(conn)
	stream, err := client.GetParametersAnnouncement(ctx, grpc_retry.Disable())
	if err != nil {
		return fmt.Errorf("error getting parametersAnnouncementStream: %w", err)
	}
	if err := cmp.SendRepoStream(ctx, appPath, repoRoot, stream, env, nil); err != nil {
		return fmt.Errorf("error sending file to cmp-server: %w", err)
	}
	announcement, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("failed to get parameter announcement: %w", err)
	}
	data, err := json.Marshal(announcement.ParameterAnnouncements)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(data))
	return err
}

// discover is the repo server's search for a plugin when the Application names none
// (DetectConfigManagementPlugin with an empty name, as discovery.Discover calls it).
func discover(ctx context.Context, repoRoot, path string) error {
	appPath := filepath.Join(repoRoot, path)
	conn, client, err := discovery.DetectConfigManagementPlugin(ctx, appPath, repoRoot, "", nil, nil)
	if err != nil {
		return err
	}
	defer utilio.Close(conn)
	config, err := client.CheckPluginConfiguration(ctx, &empty.Empty{})
	if err != nil {
		return err
	}
	_, err = fmt.Printf("found: discovery %v\n", config.IsDiscoveryConfigured)
	return err
}
