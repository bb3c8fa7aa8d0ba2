/*
 * Open file handles: fi->fh is an id into this table, not a pointer, so that a daemon taking over
 * the FUSE connection (handover.h) can import the open handles under the ids the kernel holds.
 * Lookups take no lock (a read of a handle never overlaps its release: the kernel sends RELEASE only
 * once no syscall holds the file); ids are handed out and freed under a mutex.
 */
#ifndef BOXSCOPE_HANDLES_H
#define BOXSCOPE_HANDLES_H

#include <stdint.h>

#include "content.h"

typedef struct handle_table handle_table_t;

handle_table_t *handles_new(void);
/* Drops every handle still open (their bytes are unreferenced). */
void handles_free(handle_table_t *t);
/* Stores c (takes over its reference) under a new id (>= 1); 0 when the table is full or no memory. */
uint64_t handles_put(handle_table_t *t, content_t *c);
/* Stores c (takes over its reference) under `id`, as a previous daemon handed it: 0, or an errno
 * (EINVAL: id out of range or taken; ENOMEM). */
int handles_put_at(handle_table_t *t, uint64_t id, content_t *c);
/* The bytes of an open handle (no new reference: valid until its release), NULL for an unknown id. */
content_t *handles_get(handle_table_t *t, uint64_t id);
/* Replaces the bytes of an open handle (takes over c's reference, unreferences the old bytes). */
void handles_set(handle_table_t *t, uint64_t id, content_t *c);
/* Frees the id and unreferences its bytes; an unknown id is ignored. */
void handles_drop(handle_table_t *t, uint64_t id);
/* Calls fn for every open handle, in id order; fn must not call into the table. */
void handles_each(handle_table_t *t, void (*fn)(void *arg, uint64_t id, content_t *c), void *arg);

#endif
