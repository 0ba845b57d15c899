/*
 * cmd_magnet.h - `ringseed fetch MAGNET`: the metadata first (fetch_meta.h),
 * kept as STATE/magnet/<info-hash>.torrent (the info dictionary and the
 * link's trackers as its announce-list), so a restart goes straight to the
 * content; then the fetch carries on from that file.
 */
#ifndef RINGSEED_CMD_MAGNET_H
#define RINGSEED_CMD_MAGNET_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>

#include "conf/conf.h"
#include "proto/magnet.h"

/* Fills path with the .torrent for the magnet, fetching its metadata if needed. 0 or -errno (logged). */
struct cmd_magnet_out {
	char path[PATH_MAX + 64];	   /* the .torrent */
	struct conf_addr banned[16]; /* peers the fetch must not ask (FMETA_BANNED_MAX) */
	unsigned n_banned;
};

int cmd_magnet_torrent(const struct magnet *mg, const struct conf *c,
		       volatile sig_atomic_t *stop, struct cmd_magnet_out *out);

#endif
