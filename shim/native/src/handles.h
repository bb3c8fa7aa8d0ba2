/*
 * Open file handles: fi->fh is an id into this table, not a pointer, so that a daemon taking over
 * the FUSE connection (handover.h) can import the open handles under the ids the kernel holds.
 * Lookups take no lock (a read of a handle never overlaps its release: the kernel sends RELEASE only
 * once no syscall holds the file); ids are handed out and freed under a mutex. What a handle is
 * belongs to the caller (fs.c's handle_t); the table frees it with the destructor it was made with.
 */
#ifndef BOXSCOPE_HANDLES_H
#define BOXSCOPE_HANDLES_H

#include <stdint.h>

typedef struct handle_table handle_table_t;

handle_table_t *handles_new(void (*destroy)(void *handle));
/* Destroys every handle still open. */
void handles_free(handle_table_t *t);
/* Stores h under a new id (>= 1); 0 when the table is full or out of memory (h is still the caller's). */
uint64_t handles_put(handle_table_t *t, void *h);
/* Stores h under `id`, as a previous daemon handed it: 0, or an errno (EINVAL: id out of range or
 * taken; ENOMEM); on an error h is still the caller's. */
int handles_put_at(handle_table_t *t, uint64_t id, void *h);
/* The handle of an open id (valid until its release), NULL for an unknown id. */
void *handles_get(handle_table_t *t, uint64_t id);
/* Frees the id and destroys its handle; an unknown id is ignored. */
void handles_drop(handle_table_t *t, uint64_t id);
/* Calls fn for every open handle, in id order; fn must not call into the table. */
void handles_each(handle_table_t *t, void (*fn)(void *arg, uint64_t id, void *h), void *arg);

#endif
