/* luks_amend.c — amending the key slots of a LUKS block (the luks driver's and qcow2's): adding a passphrase to a free (or given) slot and
 * erasing slots by index or by the passphrase they hold, with qemu's checks in its order and wording
 * (spec/luks.md §Amend). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luks_block.h"
#include "format_io.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"

#define LUKS_AMEND_DEFAULT_ITER_TIME_MS 2000u

/* The amendment the options ask for. */
typedef struct luks_amend_request {
    bool activate;
    bool has_keyslot;
    uint64_t keyslot;
    const char *old_secret;
    const char *new_secret;
    uint64_t iter_time_ms;
    bool force;
} luks_amend_request;

/* The value of option prefix + name, or NULL. */
static const char *luks_amend_option(const option_list *options, const char *prefix, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return option_list_get(options, key);
}

/* Reads the request; qemu names the options without their prefix in its errors. */
static int luks_amend_request_parse(const option_list *options, const char *prefix, bool force,
                                    luks_amend_request *request, error **errp)
{
    memset(request, 0, sizeof(*request));
    request->force = force;
    const char *state = luks_amend_option(options, prefix, "state");
    if (state == NULL)
        return error_set(errp, "Parameter 'state' is missing");
    if (strcmp(state, "active") != 0 && strcmp(state, "inactive") != 0)
        return error_set(errp, "Parameter 'state' does not accept value '%s'", state);
    request->activate = strcmp(state, "active") == 0;
    const char *keyslot = luks_amend_option(options, prefix, "keyslot");
    const char *iter_time = luks_amend_option(options, prefix, "iter-time");
    request->has_keyslot = keyslot != NULL;
    request->iter_time_ms = LUKS_AMEND_DEFAULT_ITER_TIME_MS;
    if ((keyslot && option_value_parse_number("keyslot", keyslot, &request->keyslot, errp) < 0) ||
        (iter_time && option_value_parse_number("iter-time", iter_time, &request->iter_time_ms, errp) < 0))
        return -1;
    request->old_secret = luks_amend_option(options, prefix, "old-secret");
    request->new_secret = luks_amend_option(options, prefix, "new-secret");
    return 0;
}

/* The range check of an explicit keyslot (printed as qemu's 32-bit value). */
static int luks_amend_keyslot_check(const luks_amend_request *request, error **errp)
{
    if (request->keyslot >= LUKS_SLOT_COUNT)
        return error_set(errp, "Invalid keyslot %u specified, must be between 0 and %u", (uint32_t)request->keyslot,
                         LUKS_SLOT_COUNT - 1);
    return 0;
}

/* Adds the new secret to the given slot or the first free one. */
static int luks_amend_activate(luks_block *s, const luks_amend_request *request, error **errp)
{
    unsigned index = LUKS_SLOT_COUNT;
    size_t length = 0;

    if (request->new_secret == NULL)
        return error_set(errp, "'new-secret' is required to activate a keyslot");
    if (request->old_secret != NULL)
        return error_set(errp, "'old-secret' must not be given when activating keyslots");
    if (request->has_keyslot) {
        if (luks_amend_keyslot_check(request, errp) < 0)
            return -1;
        index = (unsigned)request->keyslot;
        if (s->header.slots[index].active == LUKS_SLOT_ACTIVE)
            return error_set(errp, "Refusing to overwrite active keyslot %u - please erase it first", index);
    } else {
        for (unsigned slot = 0; slot < LUKS_SLOT_COUNT && index == LUKS_SLOT_COUNT; slot++)
            if (s->header.slots[slot].active != LUKS_SLOT_ACTIVE)
                index = slot;
        if (index == LUKS_SLOT_COUNT)
            return error_set(errp, "Can't add a keyslot - all keyslots are in use");
    }
    const uint8_t *passphrase = secret_lookup(request->new_secret, &length, errp);
    if (passphrase == NULL)
        return -1;
    if (luks_slot_store(s->file, s->header_offset, &s->header, &s->algorithms, index, s->master_key, passphrase, length,
                        request->iter_time_ms, errp) < 0)
        return -1;
    return luks_block_header_store(s, errp);
}

/* The active slots, counted. */
static unsigned luks_active_slot_count(const luks_header *header)
{
    unsigned count = 0;
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++)
        count += header->slots[index].active == LUKS_SLOT_ACTIVE;
    return count;
}

/* Marks in matches the active slots the old secret opens; returns how many, or -1 with *errp set. */
static int luks_amend_matching_slots(luks_block *s, const char *old_secret, bool matches[LUKS_SLOT_COUNT],
                                     error **errp)
{
    uint8_t candidate[LUKS_MAX_KEY_BYTES];
    size_t length = 0;
    int count = 0;
    const uint8_t *passphrase = secret_lookup(old_secret, &length, errp);
    if (passphrase == NULL)
        return -1;
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        matches[index] = false;
        if (s->header.slots[index].active != LUKS_SLOT_ACTIVE)
            continue;
        if (luks_slot_open(s, index, passphrase, length, candidate,
                           &matches[index], errp) < 0)
            return -1;
        count += matches[index];
    }
    crypto_memory_wipe(candidate, sizeof(candidate));
    return count;
}

/* Erases the chosen slots and writes the header. */
static int luks_amend_erase_slots(luks_block *s, const bool chosen[LUKS_SLOT_COUNT], error **errp)
{
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++)
        if (chosen[index] && luks_slot_erase(s->file, s->header_offset, &s->header, index, errp) < 0)
            return -1;
    return luks_block_header_store(s, errp);
}

/* Erases the given slot, or every slot the old secret opens. */
static int luks_amend_erase(luks_block *s, const luks_amend_request *request, error **errp)
{
    bool matches[LUKS_SLOT_COUNT] = {false};

    if (request->new_secret != NULL)
        return error_set(errp, "'new-secret' must not be given when erasing keyslots");
    if (!request->has_keyslot && request->old_secret == NULL)
        return error_set(errp, "To erase keyslot(s), either explicit keyslot index or the password currently "
                               "contained in them must be given");
    if (request->has_keyslot) {
        if (luks_amend_keyslot_check(request, errp) < 0)
            return -1;
        unsigned index = (unsigned)request->keyslot;
        if (s->header.slots[index].active != LUKS_SLOT_ACTIVE)
            return error_set(errp, "Given keyslot %u is already erased (inactive) ", index);
        if (request->old_secret != NULL) {
            if (luks_amend_matching_slots(s, request->old_secret, matches, errp) < 0)
                return -1;
            if (!matches[index])
                return error_set(errp, "Given keyslot %u doesn't contain the given old password for erase operation",
                                 index);
        }
        if (!request->force && luks_active_slot_count(&s->header) == 1)
            return error_set(errp, "Attempt to erase the only active keyslot %u which will erase all the data in "
                                   "the image irreversibly - refusing operation", index);
        memset(matches, 0, sizeof(matches));
        matches[index] = true;
        return luks_amend_erase_slots(s, matches, errp);
    }
    int count = luks_amend_matching_slots(s, request->old_secret, matches, errp);
    if (count < 0)
        return -1;
    if (count == 0)
        return error_set(errp, "No keyslots match given (old) password for erase operation");
    if (!request->force && (unsigned)count == luks_active_slot_count(&s->header))
        return error_set(errp, "All the active keyslots match the (old) password that was given and erasing them "
                               "will erase all the data in the image irreversibly - refusing operation");
    return luks_amend_erase_slots(s, matches, errp);
}

int luks_block_amend(luks_block *block, const option_list *options, const char *prefix, bool force, error **errp)
{
    luks_amend_request request;
    if (luks_amend_request_parse(options, prefix, force, &request, errp) < 0)
        return -1;
    return request.activate ? luks_amend_activate(block, &request, errp) : luks_amend_erase(block, &request, errp);
}
