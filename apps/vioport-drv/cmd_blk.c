/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: blk commands, read and write, and blk's line in `list`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/virtio.h"

#define BLK_CHUNK 16u /* sectors per request: bounced through the area */

static void blk_summary(struct vio_vmsg_drv_dev *d)
{
	uint8_t cfg[8];

	if (vio_vmsg_drv_read_config(d, VIO_BLK_CFG_CAPACITY, cfg, 8) == 0)
		printf("  capacity %llu sectors (%llu bytes)%s",
		       (unsigned long long) vio_get_le64(cfg),
		       (unsigned long long) vio_get_le64(cfg) * VIO_BLK_SECTOR_SIZE,
		       (d->device_features & VIO_BIT(VIO_BLK_F_RO)) ? ", read-only" : "");
}

const struct drv_kind drv_kind_blk = {"blk", VIO_ID_BLK, 1, blk_summary};

static int write_all(FILE *f, const void *p, size_t n, const char *path)
{
	if (fwrite(p, 1, n, f) != n) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void progress(uint64_t done, uint64_t total, uint64_t *next)
{
	if (total < 8u * 1024u * 1024u / VIO_BLK_SECTOR_SIZE || done < *next)
		return;
	fprintf(stderr, "vioport-drv: %llu of %llu sectors (%llu%%)\n", (unsigned long long) done,
		(unsigned long long) total, (unsigned long long) (done * 100u / total));
	*next += total / 10u;
}

static int blk_read(struct session *s, uint64_t sector, uint64_t count, const char *path)
{
	uint8_t buf[BLK_CHUNK * VIO_BLK_SECTOR_SIZE];
	FILE *f = NULL;
	uint64_t next = count / 10u;
	int rc = 0;

	if (path != NULL && (f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (uint64_t done = 0; done < count;) {
		uint32_t n = count - done < BLK_CHUNK ? (uint32_t) (count - done) : BLK_CHUNK;
		int r = vio_vmsg_drv_blk_read(&s->dev, sector + done, buf, n);

		if (r < 0) {
			fprintf(stderr, "vioport-drv: read of sector %llu failed: %s\n",
				(unsigned long long) (sector + done), strerror(-r));
			rc = 1;
			break;
		}
		if (f != NULL) {
			if (write_all(f, buf, n * VIO_BLK_SECTOR_SIZE, path) < 0) {
				rc = 1;
				break;
			}
		} else {
			hexdump(buf, n * VIO_BLK_SECTOR_SIZE,
				(sector + done) * VIO_BLK_SECTOR_SIZE);
		}
		done += n;
		progress(done, count, &next);
	}
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		rc = 1;
	}
	return rc;
}

static int blk_write(struct session *s, uint64_t sector, const char *path)
{
	uint8_t buf[BLK_CHUNK * VIO_BLK_SECTOR_SIZE];
	FILE *f = fopen(path, "rb");
	uint64_t done = 0, total, next;
	long size;
	int rc = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return 1;
	}
	total = ((uint64_t) size + VIO_BLK_SECTOR_SIZE - 1) / VIO_BLK_SECTOR_SIZE;
	next = total / 10u;
	while (done < total) {
		size_t got;
		uint32_t n;
		int r;

		memset(buf, 0, sizeof(buf));
		got = fread(buf, 1, sizeof(buf), f);
		if (got == 0) {
			fprintf(stderr, "vioport-drv: %s: short read\n", path);
			rc = 1;
			break;
		}
		n = (uint32_t) ((got + VIO_BLK_SECTOR_SIZE - 1) / VIO_BLK_SECTOR_SIZE);
		r = vio_vmsg_drv_blk_write(&s->dev, sector + done, buf, n);
		if (r < 0) {
			fprintf(stderr, "vioport-drv: write of sector %llu failed: %s\n",
				(unsigned long long) (sector + done), strerror(-r));
			rc = 1;
			break;
		}
		done += n;
		progress(done, total, &next);
	}
	fclose(f);
	if (rc == 0)
		printf("wrote %llu sectors at %llu\n", (unsigned long long) done,
		       (unsigned long long) sector);
	return rc;
}

/* blk DEV read SECTOR COUNT [FILE] */
int cmd_blk_read(struct drv_ctx *c, int argc, char **argv)
{
	uint64_t sector, count;
	int r;

	if (!parse_u64(argv[2], UINT64_MAX / 512, &sector) ||
	    !parse_u64(argv[3], UINT32_MAX, &count) || count == 0)
		return usage_error("%s", "blk: expected DEV read SECTOR COUNT [FILE]");
	if ((r = device_up(c, argv[0], &drv_kind_blk, 0)) != 0)
		return r;
	return blk_read(c->s, sector, count, argc == 5 ? argv[4] : NULL);
}

/* blk DEV write SECTOR FILE */
int cmd_blk_write(struct drv_ctx *c, int argc, char **argv)
{
	uint64_t sector;
	int r;

	if (!parse_u64(argv[2], UINT64_MAX / 512, &sector))
		return usage_error("%s", "blk: expected DEV write SECTOR FILE");
	if ((r = device_up(c, argv[0], &drv_kind_blk, 0)) != 0)
		return r;
	return blk_write(c->s, sector, argv[3]);
}
