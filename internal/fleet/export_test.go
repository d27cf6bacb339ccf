package fleet

// Names are node i's namespace, host-side and node-side veth names, and
// NodesDir the directory of the overlays, for cfg's instance: what the
// leak checks of the package's tests look for.
func Names(cfg Config, i int) (netns, hostIf, nodeIf string) { return cfg.withDefaults().names(i) }
func NodesDir(cfg Config) string                             { return cfg.withDefaults().nodesDir() }
