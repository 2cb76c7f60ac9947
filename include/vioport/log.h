/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log levels every layer shares: the engines' log ops, the providers' log
 * hooks and the programs' own lines. Lower is more severe, so a threshold
 * keeps a line when its level is at most the threshold. The values are
 * those the vhost-user engine has always passed (VIO_VU_LOG_* are aliases),
 * so a hook written against either name sees the same numbers.
 */
#ifndef VIOPORT_LOG_H
#define VIOPORT_LOG_H

#define VIO_LOG_ERR   0
#define VIO_LOG_WARN  1
#define VIO_LOG_INFO  2
#define VIO_LOG_DEBUG 3

#endif
