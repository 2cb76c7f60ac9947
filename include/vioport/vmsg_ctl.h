/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * This project's own extension of the shared-memory bus (docs/vmsg.md, "Control
 * words"): two words in the window header's reserved area through which the
 * driver asks a firmware device side to end its program, so a test run under
 * emulation finishes with a status the host checks.
 *
 * The driver writes the status word first, then the request word with release
 * ordering. A device side that supports the extension reads the request word
 * once per main-loop pass, in every state (attached, detached, stopped), and
 * acts only on the exact value VIO_VMSG_CTL_EXIT; any other value is ignored.
 * Formatting zeroes the header, so a request never outlives its generation.
 * Devices that do not support it ignore the words (they are reserved: written
 * 0, ignored when read).
 */
#ifndef VIOPORT_VMSG_CTL_H
#define VIOPORT_VMSG_CTL_H

#define VIO_VMSG_SHM_OFF_CTL_REQ 56u	     /* le32, written by the driver only */
#define VIO_VMSG_SHM_OFF_CTL_ARG 60u	     /* le32, written by the driver only */
#define VIO_VMSG_CTL_EXIT	 0x54495845u /* "EXIT": end the program with status ARG & 0xff */

#endif
