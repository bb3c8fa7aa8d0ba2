// Command cadvisor-anchor serves cAdvisor's Prometheus collectors for bench/exporter: the anchor
// boxscope's exporter is measured beside. It is cAdvisor's own collection code (its container
// manager with only the raw cgroup factory registered, its in-memory cache, its container and
// machine collectors), wired the way cAdvisor's binary wires its /metrics endpoint, minus the web
// UI, the REST API and the Docker/containerd/CRI-O factories (the bench's cgroups belong to no
// runtime, so only the raw factory would handle them anyway).
//
// cAdvisor's own flags (housekeeping_interval, max_housekeeping_interval, docker_only,
// storage_duration, ...) are registered by its packages and keep their defaults unless given.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/google/cadvisor/lib/cache/memory"
	"github.com/google/cadvisor/lib/container"
	"github.com/google/cadvisor/lib/manager"
	"github.com/google/cadvisor/lib/metrics"
	info "github.com/google/cadvisor/lib/model"
	"github.com/google/cadvisor/lib/utils/sysfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

var (
	listen          = flag.String("listen", "127.0.0.1:8080", "address to serve /metrics on")
	storageDuration = flag.Duration("storage_duration", 2*time.Minute, "how long stats are kept in memory (cAdvisor's default)")
	rawPrefixes     = flag.String("raw_cgroup_prefix_whitelist", "", "comma-separated cgroup path prefixes collected even with -docker_only (as cAdvisor's flag)")
	cpuProfile      = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (stopped at SIGINT/SIGTERM)")
)

// disabledByDefault is the set cAdvisor's binary leaves out unless -enable_metrics says otherwise.
var disabledByDefault = container.MetricSet{
	container.MemoryNumaMetrics:              struct{}{},
	container.NetworkTcpUsageMetrics:         struct{}{},
	container.NetworkUdpUsageMetrics:         struct{}{},
	container.NetworkAdvancedTcpUsageMetrics: struct{}{},
	container.ProcessSchedulerMetrics:        struct{}{},
	container.ProcessMetrics:                 struct{}{},
	container.HugetlbUsageMetrics:            struct{}{},
	container.ReferencedMemoryMetrics:        struct{}{},
	container.CPUTopologyMetrics:             struct{}{},
	container.ResctrlMetrics:                 struct{}{},
	container.CPUSetMetrics:                  struct{}{},
}

func main() {
	klog.InitFlags(nil)
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "cadvisor-anchor: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	included := container.AllMetrics.Difference(disabledByDefault)
	m, err := manager.New(
		memory.New(*storageDuration, nil),
		sysfs.NewRealSysFs(),
		manager.HousekeepingConfigFlags,
		included,
		strings.Split(*rawPrefixes, ","),
		[]string{""},
		"",
		0,
	)
	if err != nil {
		return fmt.Errorf("container manager: %w", err)
	}
	// The same registry cAdvisor's binary serves on /metrics: latest stats of every container
	// (Count 1, recursive from "/"), machine facts, the Go runtime and the process.
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewPrometheusCollector(m, metrics.DefaultContainerLabels, included, clock.RealClock{},
			info.RequestOptions{IdType: info.TypeName, Count: 1, Recursive: true}),
		metrics.NewPrometheusMachineCollector(m, included),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
	}
	if err := m.Start(); err != nil {
		return fmt.Errorf("start container manager: %w", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		pprof.StopCPUProfile() // first: the bench kills what has not exited within 5 s
		_ = m.Stop()
		os.Exit(0)
	}()
	return http.ListenAndServe(*listen, mux)
}
