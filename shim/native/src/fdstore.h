/*
 * Keeping the live FUSE connection in systemd's file descriptor store across `systemctl restart`
 * (sd_notify(3) FDSTORE=1; the unit sets FileDescriptorStoreMax=). systemd stops the old process
 * before it starts the new one, so there is no successor to hand over to (handover.h): instead the
 * stopping daemon pauses, lets every request it read be answered, and gives systemd a dup of its
 * /dev/fuse fd and a memfd holding its state (fs.c's format, behind a header naming the
 * mountpoint). While the fd is stored the connection stays alive and requests wait in the kernel;
 * systemd passes both back to the next start (LISTEN_FDS, LISTEN_FDNAMES), which adopts them and
 * drops them from the store, so that a crash still ends the connection and the next start heals.
 */
#ifndef BOXSCOPE_FDSTORE_H
#define BOXSCOPE_FDSTORE_H

#include <stddef.h>

/* The FDNAME of both stored fds. */
#define FDSTORE_NAME "boxscope-shim"

/* Sends sd_notify assignments (newline-separated) to the manager at `notify_socket` (a path, or "@name" for
 * an abstract socket), with `nfds` fds attached; 0 or an errno. */
int sd_send(const char *notify_socket, const char *message, const int *fds, int nfds);

/* Waits until the manager has processed every message sent before (BARRIER=1, systemd >= 246):
 * 0, or an errno (ETIMEDOUT). */
int sd_barrier(const char *notify_socket, int timeout_ms);

/* Replaces what is stored under FDSTORE_NAME with fuse_fd and a memfd of (mountpoint, state), and
 * waits until systemd took them: 0, or an errno with a message in err. */
int fdstore_put(const char *notify_socket, const char *mountpoint, int fuse_fd, const unsigned char *state,
                size_t state_len, char *err, size_t err_len);

/* Drops what is stored under FDSTORE_NAME and waits until systemd did: 0 or an errno. */
int fdstore_drop(const char *notify_socket);

/*
 * Of the fds systemd passed back under FDSTORE_NAME: the /dev/fuse fd (*fuse_fd) and the state
 * (*state, malloc'd, *state_len) of `mountpoint`. Every fd is made close-on-exec; the memfd is
 * closed. 0, or -1 with err saying why (then *fuse_fd is -1 and every fd given is closed).
 */
int fdstore_open(const int *fds, int nfds, const char *mountpoint, int *fuse_fd, unsigned char **state,
                 size_t *state_len, char *err, size_t err_len);

#endif
