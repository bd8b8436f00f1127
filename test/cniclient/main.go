// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// cniclient: a test driver that runs a CNI conflist through libcni (the
// library containerd, CRI-O and podman use), the way those runtimes do.
// Build (offline, Debian 12 packages golang-go + golang-github-appc-cni-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT ./test/cniclient
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

// Capability key containerd (and CRI-O >= 1.29) use for pod annotations.
const annotationsCap = "io.kubernetes.cri.pod-annotations"

const usageText = `usage: cniclient [flags] add|check|del CONFLIST_FILE CONTAINER_ID NETNS_PATH IFNAME

Runs every plugin of CONFLIST_FILE through libcni's AddNetworkList,
CheckNetworkList or DelNetworkList. NETNS_PATH may be "" (e.g. DEL after the
netns is gone). Flags must come before the command.

flags:
  --cni-path DIRS         colon-separated plugin dirs (default: $CNI_PATH, else /usr/lib/cni)
  --cache-dir DIR         libcni result cache dir (REQUIRED; never /var/lib/cni in tests)
  --annotations JSON      JSON object string->string, passed as capability
                          "io.kubernetes.cri.pod-annotations" (as containerd does)
  --args 'K=V;K=V'        CNI_ARGS pairs (RuntimeConf.Args), e.g. K8S_POD_NAMESPACE=ns
  --capability NAME=JSON  other capability arg, e.g. 'portMappings=[...]' (repeatable)

output: add prints the result JSON on stdout; check and del print nothing.
exit status: 0 ok; 2 CNI error with a code (stderr line "cni-error-code: N");
             1 any other error, including bad usage.
`

type capList []string

func (c *capList) String() string     { return strings.Join(*c, ",") }
func (c *capList) Set(v string) error { *c = append(*c, v); return nil }

func usageErr(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cniclient: "+format+"\n\n", a...)
	fmt.Fprint(os.Stderr, usageText)
	os.Exit(1)
}

// parseArgs splits "K=V;K=V" into CNI_ARGS pairs; each pair splits at its first '='.
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		i := strings.Index(kv, "=")
		if i <= 0 {
			return nil, fmt.Errorf("bad --args pair %q (want K=V)", kv)
		}
		out = append(out, [2]string{kv[:i], kv[i+1:]})
	}
	return out, nil
}

// fail prints err on stderr and exits: 2 for a CNI error with a code, 1 otherwise.
func fail(cmd string, err error) {
	fmt.Fprintf(os.Stderr, "cniclient: %s: %v\n", cmd, err)
	var cerr *types.Error
	if errors.As(err, &cerr) {
		if cerr.Details != "" {
			fmt.Fprintf(os.Stderr, "error code %d: %s (%s)\n", cerr.Code, cerr.Msg, cerr.Details)
		} else {
			fmt.Fprintf(os.Stderr, "error code %d: %s\n", cerr.Code, cerr.Msg)
		}
		fmt.Fprintf(os.Stderr, "cni-error-code: %d\n", cerr.Code)
		os.Exit(2)
	}
	os.Exit(1)
}

func main() {
	fs := flag.NewFlagSet("cniclient", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {}
	defPath := os.Getenv("CNI_PATH")
	if defPath == "" {
		defPath = "/usr/lib/cni"
	}
	cniPath := fs.String("cni-path", defPath, "")
	cacheDir := fs.String("cache-dir", "", "")
	annotations := fs.String("annotations", "", "")
	cniArgs := fs.String("args", "", "")
	var caps capList
	fs.Var(&caps, "capability", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, usageText)
			os.Exit(0)
		}
		usageErr("%v", err)
	}
	pos := fs.Args()
	if len(pos) != 5 {
		usageErr("want 5 arguments after the flags, got %d", len(pos))
	}
	cmd, confFile := pos[0], pos[1]
	if cmd != "add" && cmd != "check" && cmd != "del" {
		usageErr("unknown command %q (want add, check or del)", cmd)
	}
	if *cacheDir == "" {
		usageErr("--cache-dir is required")
	}

	rt := &libcni.RuntimeConf{
		ContainerID:    pos[2],
		NetNS:          pos[3],
		IfName:         pos[4],
		CapabilityArgs: map[string]interface{}{},
	}
	var err error
	if rt.Args, err = parseArgs(*cniArgs); err != nil {
		usageErr("%v", err)
	}
	if *annotations != "" {
		var m map[string]string
		if err := json.Unmarshal([]byte(*annotations), &m); err != nil {
			usageErr("--annotations: want a JSON object of strings: %v", err)
		}
		rt.CapabilityArgs[annotationsCap] = m
	}
	for _, c := range caps {
		i := strings.Index(c, "=")
		if i <= 0 {
			usageErr("bad --capability %q (want NAME=JSON)", c)
		}
		name := c[:i]
		if _, dup := rt.CapabilityArgs[name]; dup {
			usageErr("capability %q given twice", name)
		}
		var v interface{}
		if err := json.Unmarshal([]byte(c[i+1:]), &v); err != nil {
			usageErr("--capability %s: bad JSON: %v", name, err)
		}
		rt.CapabilityArgs[name] = v
	}

	list, err := libcni.ConfListFromFile(confFile)
	if err != nil {
		fail(cmd, err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(*cniPath), *cacheDir, nil)
	ctx := context.Background()

	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(cmd, err)
		}
		if err := res.PrintTo(os.Stdout); err != nil {
			fail(cmd, err)
		}
		fmt.Fprintln(os.Stdout)
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(cmd, err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(cmd, err)
		}
	}
}
