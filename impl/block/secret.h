/* secret.h — --object secret,id=ID,data=..|file=..[,format=raw|base64] and their lookup by id
 * (spec/architecture.md §Objects). */
#ifndef QIMG_BLOCK_SECRET_H
#define QIMG_BLOCK_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

/* Parses and registers an --object definition. Only "secret" objects are known; anything else
 * is refused as qemu does ("Parameter 'qom-type' does not accept value 'X'"). */
int secret_object_add(const char *definition, error **errp);

/* The secret's bytes (decoded); NULL with "No secret with id 'ID'" when absent. */
const uint8_t *secret_lookup(const char *id, size_t *length, error **errp);

/* Drops every registered secret. */
void secret_registry_clear(void);

#endif
