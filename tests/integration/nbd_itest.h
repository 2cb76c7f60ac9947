/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the NBD integration tests: NBD servers (nbdkit, qemu-nbd) started
 * as processes on UNIX sockets in a test's directory (or on a loopback TCP
 * socket the test holds), and the export's bytes read and written behind
 * vioport's back through libnbd.
 */
#ifndef VIOPORT_NBD_ITEST_H
#define VIOPORT_NBD_ITEST_H

#include <stddef.h>
#include <stdint.h>

#include "itest.h"

/* nbdkit ($NBDKIT_BIN, else found in PATH), or NULL when absent. */
const char *nit_nbdkit_bin(void);

/* qemu-nbd ($QEMU_NBD_BIN, else found in PATH), or NULL when absent. */
const char *nit_qemu_nbd_bin(void);

/*
 * Waits up to timeout_ms until a connection to the UNIX socket path is
 * accepted: the socket file exists from bind(), before listen(), and until
 * then a client is refused. For servers that take several connections (the
 * probe connects and closes). 0 or -errno.
 */
int nit_wait_listening(const char *path, int timeout_ms);

/*
 * Starts nbdkit in the foreground on the UNIX socket p->sock with the words
 * of args (filters, plugin, parameters), separated by spaces; waits for the
 * socket like it_start. 0 or -errno.
 */
int nit_nbdkit_start(struct it_proc *p, const char *args);

/*
 * Starts nbdkit serving on the listening TCP socket listen_fd (socket
 * activation: the descriptor becomes its fd 3) and returns without waiting:
 * the kernel queues connections until nbdkit accepts them. 0 or -errno.
 */
int nit_nbdkit_start_fd(struct it_proc *p, int listen_fd, const char *args);

/* A listening TCP socket on 127.0.0.1 with a port the kernel chose; the fd or -errno. */
int nit_listen_loopback(uint16_t *port);

/* The nbd+unix URI of the default export on sock, into out. */
void nit_unix_uri(char *out, size_t cap, const char *sock);

/* Writes it_pattern's bytes over the first bytes of the export at uri; 0 or -1. */
int nit_fill_pattern(const char *uri, uint64_t bytes);

/* Reads len bytes at offset of the export at uri; 0 or -1. */
int nit_read(const char *uri, uint64_t offset, void *buf, size_t len);

/* Counts the lines of file that contain needle and not not (NULL: no exclusion). */
int nit_count_lines(const char *file, const char *needle, const char * not );

#endif
