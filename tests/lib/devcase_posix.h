/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases over the two transports of the vioport daemon: vhost-user
 * (lib/frontend, one socket per device) and virtio-msg (the driver library
 * over the daemon's window file, one device number per device). The test
 * programs start the daemon (tests/integration/test_devcases_{vu,vmsg}.c)
 * and tell the transport where each device is.
 */
#ifndef VIOPORT_TESTS_DEVCASE_POSIX_H
#define VIOPORT_TESTS_DEVCASE_POSIX_H

#include <stdint.h>

#include "devcase.h"

/* How long a request, a bring-up or a connection may take. */
#define DC_WAIT_MS 10000

/* vhost-user: the frontend connects to the socket of the device's kind. */
extern const struct dc_transport dc_vu;
/* Sets the socket path of kind's device (the string must outlive the cases). */
void dc_vu_socket(enum dc_kind kind, const char *path);

/* virtio-msg: one driver session over the window, opened by dc_vmsg_attach. */
extern const struct dc_transport dc_vmsg;
/*
 * Opens the driver side of the daemon's window at path (doorbell as the
 * daemon's --doorbell) and sets the device number of each kind (dev_num,
 * DC_NKINDS entries). Returns 0, or -errno with err set.
 */
int dc_vmsg_attach(const char *path, const char *doorbell, const uint16_t *dev_num, char *err,
		   size_t cap);
/* Closes the driver side again. */
void dc_vmsg_detach(void);

#endif
