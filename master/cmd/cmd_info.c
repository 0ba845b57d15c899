/*
 * cmd_info.c - `ringseed info`: what a .torrent holds, for people or scripts.
 *
 * A bad file gives exactly one line on stderr, "ringseed info: FILE: key:
 * reason", and exit status 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "master/cmd/cmd.h"
#include "master/content/torrent_file.h"

static void info_usage(FILE *f)
{
	fprintf(f, "usage: ringseed info [--json] [--peer HOST:PORT] FILE.torrent\n"
		   "\n"
		   "Prints the name, info-hash, magnet link, piece layout, files and trackers\n"
		   "of a .torrent, or one line saying why it cannot be served.\n"
		   "\n"
		   "  -j, --json             one JSON object on stdout, for scripts\n"
		   "  -p, --peer HOST:PORT   add x.pe=HOST:PORT to the magnet link (BEP 9), so\n"
		   "                         a client finds this seeder without a tracker;\n"
		   "                         an IPv6 address goes in brackets: [::1]:6881\n"
		   "  -h, --help             this text\n");
}

/* RFC 3986 percent-encoding of everything but unreserved characters and `keep`. */
static void info_put_urlenc(FILE *f, const char *s, const char *keep)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) || strchr(keep, *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/*
 * BEP 9: xt, dn, one tr per tracker in file order, and x.pe for a peer to
 * try first. x.pe keeps ':', '[' and ']' as they are: libtorrent reads the
 * value without percent-decoding it, so "%5B::1%5D:6881" would be no peer.
 * xt is btih (SHA-1) for v1, btmh (a multihash: 0x12 SHA-256, 0x20 bytes)
 * for v2 (BEP 52), both for a hybrid so that either kind of client finds
 * the swarm.
 */
static void info_put_magnet(FILE *f, const struct metainfo *mi, const char *peer)
{
	char hex[2 * MI_HASH_V2_LEN + 1];

	fputs("magnet:?", f);
	if (mi->format & MI_FORMAT_V1) {
		mi_hex(mi->info_hash, hex);
		fprintf(f, "xt=urn:btih:%s&", hex);
	}
	if (mi->format & MI_FORMAT_V2) {
		mi_hex_n(mi->info_hash_v2, MI_HASH_V2_LEN, hex);
		fprintf(f, "xt=urn:btmh:1220%s&", hex);
	}
	fputs("dn=", f);
	info_put_urlenc(f, mi->name, "");
	for (uint32_t i = 0; i < mi->tracker_count; i++) {
		fputs("&tr=", f);
		info_put_urlenc(f, mi->trackers[i].url, "");
	}
	if (peer) {
		fputs("&x.pe=", f);
		info_put_urlenc(f, peer, ":[]");
	}
}

/*
 * HOST:PORT, [IPV6]:PORT: a non-empty host without '/', '?', '#' or
 * spaces, and a port 1..65535. Returns 0 or -1 with why set.
 */
static int info_check_peer(const char *s, const char **why)
{
	const char *colon = strrchr(s, ':'), *host_end = colon;
	char *end;
	long port;

	*why = "want HOST:PORT";
	if (!colon || colon == s)
		return -1;
	if (s[0] == '[') {
		if (colon[-1] != ']' || colon - s < 3) {
			*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
			return -1;
		}
	} else if (memchr(s, ':', (size_t)(colon - s))) {
		*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
		return -1;
	}
	for (const char *p = s; p < host_end; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("/?#&%@", *p)) {
			*why = "a character a host name cannot hold";
			return -1;
		}
	}
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 1 || port > 65535 || colon[1] == '+' || colon[1] == '-') {
		*why = "the port must be 1..65535";
		return -1;
	}
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7), or
 * 0: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static int info_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0; /* overlong below U+0800 */
	else if (p[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90; /* overlong below U+10000 */
	else if (p[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* Text for a terminal: control bytes shown as \xNN, never sent raw. */
static void info_put_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void info_put_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		int n;

		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if ((n = info_utf8_len(p)) > 0) {
			fwrite(p, 1, (size_t)n, f);
			p += n;
		} else {
			fputs("\\ufffd", f);
			p++;
		}
	}
	fputc('"', f);
}

static void info_json_trackers(FILE *f, const struct metainfo *mi)
{
	fputs("  \"trackers\": [", f);
	for (uint32_t i = 0; i < mi->tracker_count; i++) {
		bool new_tier = i == 0 || mi->trackers[i].tier != mi->trackers[i - 1].tier;

		if (new_tier)
			fputs(i ? "], [" : "[", f);
		else
			fputs(", ", f);
		info_put_json_str(f, mi->trackers[i].url);
	}
	fputs(mi->tracker_count ? "]],\n" : "],\n", f);
	fputs("  \"web_seeds\": [", f);
	for (uint32_t i = 0; i < mi->web_seed_count; i++) {
		fputs(i ? ", " : "", f);
		info_put_json_str(f, mi->web_seeds[i]);
	}
	fputs("],\n", f);
}

static void info_json(FILE *f, const struct metainfo *mi, const char *peer)
{
	char hex[2 * MI_HASH_V2_LEN + 1];

	mi_hex(mi->info_hash, hex);
	fputs("{\n  \"name\": ", f);
	info_put_json_str(f, mi->name);
	fprintf(f, ",\n  \"format\": \"%s\",\n  \"info_hash\": \"%s\",\n",
		mi_format_name(mi->format), hex);
	mi_hex_n(mi->info_hash_v2, MI_HASH_V2_LEN, hex);
	if (mi->format & MI_FORMAT_V2)
		fprintf(f, "  \"info_hash_v2\": \"%s\",\n", hex);
	else
		fputs("  \"info_hash_v2\": null,\n", f);
	fputs("  \"magnet\": \"", f);
	info_put_magnet(f, mi, peer); /* percent-encoded: nothing JSON must escape */
	fprintf(f,
		"\",\n  \"piece_length\": %u,\n  \"piece_count\": %u,\n"
		"  \"total_size\": %llu,\n  \"private\": %s,\n  \"multi_file\": %s,\n",
		mi->piece_length, mi->piece_count, (unsigned long long)mi->total_length,
		mi->private_torrent ? "true" : "false", mi->multi_file ? "true" : "false");
	fputs("  \"files\": [", f);
	for (uint32_t i = 0; i < mi->file_count; i++) {
		fputs(i ? ",\n    {\"path\": " : "\n    {\"path\": ", f);
		info_put_json_str(f, mi->files[i].path);
		fprintf(f, ", \"length\": %llu, \"offset\": %llu%s",
			(unsigned long long)mi->files[i].length,
			(unsigned long long)mi->files[i].offset,
			mi->files[i].pad ? ", \"pad\": true" : "");
		if (mi->files[i].pieces_root) {
			mi_hex_n(mi->files[i].pieces_root, MI_HASH_V2_LEN, hex);
			fprintf(f, ", \"pieces_root\": \"%s\"", hex);
		}
		fputc('}', f);
	}
	fputs("\n  ],\n", f);
	info_json_trackers(f, mi);
	fputs("  \"comment\": ", f);
	info_put_json_str(f, mi->comment);
	fputs(",\n  \"created_by\": ", f);
	info_put_json_str(f, mi->created_by);
	fputs(",\n  \"source\": ", f);
	info_put_json_str(f, mi->source);
	fprintf(f, ",\n  \"creation_date\": %lld,\n  \"warnings\": %u\n}\n",
		(long long)mi->creation_date, mi->warning_count);
}

static void info_size(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, len, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(out, len, "%.1f %s (%llu bytes)", v, units[u], (unsigned long long)bytes);
}

/* "label: value\n" with the value made safe for a terminal. */
static void info_line(FILE *f, const char *label, const char *value)
{
	fprintf(f, "%-15s", label);
	info_put_text(f, value);
	fputc('\n', f);
}

static void info_text_lists(FILE *f, const struct metainfo *mi)
{
	char hex[2 * MI_HASH_V2_LEN + 1];

	fprintf(f, "files:         %u\n", mi->file_count);
	for (uint32_t i = 0; i < mi->file_count; i++) {
		fprintf(f, "  %15llu  ", (unsigned long long)mi->files[i].length);
		info_put_text(f, mi->files[i].path);
		fputs(mi->files[i].pad ? "  (padding)\n" : "\n", f);
		if (mi->files[i].pieces_root) {
			mi_hex_n(mi->files[i].pieces_root, MI_HASH_V2_LEN, hex);
			fprintf(f, "  %15s  pieces root %s\n", "", hex);
		}
	}
	fprintf(f, "trackers:      %u\n", mi->tracker_count);
	for (uint32_t i = 0; i < mi->tracker_count; i++) {
		fprintf(f, "  tier %-3u ", mi->trackers[i].tier);
		info_put_text(f, mi->trackers[i].url);
		fputc('\n', f);
	}
	if (mi->web_seed_count)
		fprintf(f, "web seeds:     %u\n", mi->web_seed_count);
	for (uint32_t i = 0; i < mi->web_seed_count; i++)
		info_line(f, "", mi->web_seeds[i]);
}

static void info_text(FILE *f, const struct metainfo *mi, const char *peer)
{
	char hex[41], size[64], plen[64], when[64];
	time_t t = (time_t)mi->creation_date;
	struct tm tm;

	mi_hex(mi->info_hash, hex);
	info_size(size, sizeof(size), mi->total_length);
	info_size(plen, sizeof(plen), mi->piece_length);
	info_line(f, "name:", mi->name);
	fprintf(f, "format:        %s\n", mi->format == MI_FORMAT_HYBRID ? "hybrid (v1 + v2)" :
					   mi->format == MI_FORMAT_V2	  ? "v2 (BEP 52)" :
									    "v1");
	fprintf(f, "info-hash:     %s%s\n", hex,
		mi->format == MI_FORMAT_V2 ? " (v2, truncated to 20 bytes)" : "");
	if (mi->format & MI_FORMAT_V2) {
		char hex2[2 * MI_HASH_V2_LEN + 1];

		mi_hex_n(mi->info_hash_v2, MI_HASH_V2_LEN, hex2);
		fprintf(f, "info-hash v2:  %s\n", hex2);
	}
	fputs("magnet:        ", f);
	info_put_magnet(f, mi, peer);
	fprintf(f,
		"\nsize:          %s\npieces:        %u of %s, the last %u bytes\n"
		"private:       %s\n",
		size, mi->piece_count, plen, mi_piece_size(mi, mi->piece_count - 1),
		mi->private_torrent ? "yes" : "no");
	if (mi->comment)
		info_line(f, "comment:", mi->comment);
	if (mi->created_by)
		info_line(f, "created by:", mi->created_by);
	if (mi->creation_date && gmtime_r(&t, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fprintf(f, "creation date: %s\n", when);
	if (mi->source)
		info_line(f, "source:", mi->source);
	info_text_lists(f, mi);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "peer", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct metainfo mi;
	const char *peer = NULL, *why;
	char err[512];
	bool json = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "jp:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'p':
			if (info_check_peer(optarg, &why) != 0) {
				fprintf(stderr, "ringseed info: --peer %s: %s\n", optarg, why);
				return 2;
			}
			peer = optarg;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			info_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		info_usage(stderr);
		return 2;
	}
	if (torrent_file_load(argv[optind], &mi, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringseed info: %s\n", err);
		return 1;
	}
	if (mi.warning_count)
		fprintf(stderr, "ringseed info: %s: warning: %s%s\n", argv[optind], mi.warning,
			mi.warning_count > 1 ? " (and more)" : "");
	if (json)
		info_json(stdout, &mi, peer);
	else
		info_text(stdout, &mi, peer);
	mi_free(&mi);
	return 0;
}
