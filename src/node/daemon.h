/* veil-node's process lifecycle: start the workers, then wait for signals.
 *   SIGHUP          re-read the config; users, shortIds, serverNames and target change for new
 *                   connections without dropping established ones; a config with errors keeps
 *                   the old one running (the errors are logged).
 *   SIGTERM/SIGINT  drain: stop accepting, let tunnels finish for up to `drain_ms`, then exit.
 * Listen addresses and worker counts are fixed at start (a reload that changes them is
 * refused with a warning). */
#ifndef VEIL_NODE_DAEMON_H
#define VEIL_NODE_DAEMON_H

#include <stdint.h>

#include "nodecfg/config.h"

/* Runs until a stop signal. `cfg` is borrowed (a reference is taken). Returns 0 after a clean
 * stop, or a negative error when the node could not start (e.g. the port is taken). */
int node_daemon_run(const char *config_path, struct node_cfg *cfg, uint64_t drain_ms);

#endif
