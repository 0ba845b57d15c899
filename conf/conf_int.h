/*
 * conf_int.h - what a key table is, shared by conf.c (the table, values,
 * printing) and conf_load.c (reading a file); callers use conf.h.
 */
#ifndef RINGSEED_CONF_INT_H
#define RINGSEED_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CONF_KEYS_MAX 64   /* rows in one table; bounds the duplicate tracking */
#define CONF_LINE_MAX 4096 /* bytes of a line we look at; inih takes fewer anyway */
#define CONF_WHY_LEN  200  /* a reason, before "FILE:LINE: KEY: " is put in front */

enum conf_type {
	CONF_INT,    /* int, min..max; with allow_auto the word "auto" stores 0 */
	CONF_BOOL,   /* bool: yes/no, true/false, on/off, 1/0 */
	CONF_ENUM,   /* int: index into words */
	CONF_STRING, /* char[]: any printable text, may be empty */
	CONF_PATH,   /* char[]: an absolute path */
	CONF_SIZE,   /* uint64_t: bytes, optional K/M/G suffix (powers of 1024), min..max */
	CONF_ADDRS,  /* struct conf_addrs: repeatable ADDR:PORT */
};

struct conf_key {
	const char *section;
	const char *key;
	enum conf_type type;
	int64_t min, max;	  /* CONF_INT, CONF_SIZE */
	bool allow_auto;	  /* CONF_INT */
	bool empty_ok;		  /* CONF_ADDRS: an empty value means no address (off) */
	const char *const *words; /* CONF_ENUM, NULL-terminated */
	const char *def;	  /* as written in a file; list entries separated by spaces */
	const char *help;	  /* one line, for the operator */
	size_t off, size;	  /* the field in the struct the table describes */
};

struct conf_table {
	const struct conf_key *keys;
	size_t n;
	size_t base_size; /* sizeof the struct the rows point into */
};

enum conf_mode {
	CONF_MODE_SET, /* the key takes this value; a list becomes this one entry */
	CONF_MODE_ADD, /* a list gains this entry */
};

const struct conf_key *conf_find(const struct conf_table *t, const char *section,
				 const char *key);
bool conf_section_known(const struct conf_table *t, const char *name, size_t len);
/* Parses v into k's field of base: 0, or -EINVAL with why; mode says how a list takes it. */
int conf_apply(const struct conf_key *k, void *base, const char *v, enum conf_mode mode, char *why,
	       size_t n);
/* Every row's default, through the same parser as a file value. */
void conf_table_defaults(const struct conf_table *t, void *base);
/* The defaults, then the file at path over them; see conf_load(). In conf_load.c. */
int conf_table_load(const struct conf_table *t, void *base, const char *path,
		    struct conf_errors *errs);

#endif
