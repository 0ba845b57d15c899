/*
 * torrent_file.c - read a .torrent from disk and load it; see torrent_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "master/content/torrent_file.h"

static int torrent_file_read(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank while we read it */
		off += (size_t)n;
	}
	return 0;
}

int torrent_file_load(const char *path, struct metainfo *mi, char *err, size_t errlen)
{
	uint8_t *raw;
	size_t len;
	int rc = torrent_file_load_raw(path, mi, &raw, &len, err, errlen);

	if (rc == 0)
		free(raw);
	return rc;
}

int torrent_file_load_raw(const char *path, struct metainfo *mi, uint8_t **raw, size_t *len,
			  char *err, size_t errlen)
{
	struct mi_err merr;
	struct stat st;
	uint8_t *buf = NULL;
	int fd, rc;

	/* O_NONBLOCK: a FIFO must not make us wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > TORRENT_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: %lld bytes is larger than a .torrent may be (%u)", path,
			 (long long)st.st_size, TORRENT_FILE_MAX);
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = torrent_file_read(fd, buf, (size_t)st.st_size);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = mi_parse(buf, (size_t)st.st_size, mi, &merr);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, merr.msg);
	} else {
		*raw = buf;
		*len = (size_t)st.st_size;
		buf = NULL;
	}
out:
	free(buf);
	close(fd);
	return rc;
}
