/*
 * Open file handles: fi->fh is an id into this table, not a pointer, so that a daemon taking over
 * the FUSE connection (handover.h) can import the open handles under the ids the kernel holds.
 * What a handle is belongs to the caller (fs.c's handle_t), which counts its references: the table
 * holds one per open id, and a lookup takes one under the table's lock, so a handle looked up just
 * as its release is processed (a reader killed mid-read: the kernel then sends RELEASE while the
 * daemon still serves the read) stays valid until its user drops it.
 */
#ifndef BOXSCOPE_HANDLES_H
#define BOXSCOPE_HANDLES_H

#include <stdint.h>

typedef struct handle_table handle_table_t;

handle_table_t *handles_new(void (*ref)(void *handle), void (*unref)(void *handle));
/* Drops the table's reference of every handle still open. */
void handles_free(handle_table_t *t);
/* Stores h under a new id (>= 1); 0 when the table is full or out of memory (h is still the caller's). */
uint64_t handles_put(handle_table_t *t, void *h);
/* Stores h under `id`, as a previous daemon handed it: 0, or an errno (EINVAL: id out of range or
 * taken; ENOMEM); on an error h is still the caller's. */
int handles_put_at(handle_table_t *t, uint64_t id, void *h);
/* The handle of an open id with a reference taken (the caller drops it), NULL for an unknown id. */
void *handles_acquire(handle_table_t *t, uint64_t id);
/* Frees the id and drops the table's reference of its handle; an unknown id is ignored. */
void handles_drop(handle_table_t *t, uint64_t id);
/* Calls fn for every open handle, in id order; fn must not call into the table. */
void handles_each(handle_table_t *t, void (*fn)(void *arg, uint64_t id, void *h), void *arg);

#endif
