/* luks_amend.c — amending a LUKS image's key slots: adding a passphrase to a free (or given) slot and
 * erasing slots by index or by the passphrase they hold, with qemu's checks in its order and wording
 * (spec/luks.md §Amend). */
#include <stdlib.h>
#include <string.h>

#include "luks.h"
#include "../common/format_io.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"

/* qemu's luks amend options, in its order. */
const option_desc luks_amend_options[] = {
    {"state", OPTION_TYPE_STRING, "Select new state of affected keyslots (active/inactive)", NULL},
    {"keyslot", OPTION_TYPE_NUMBER, "Select a single keyslot to modify explicitly", NULL},
    {"old-secret", OPTION_TYPE_STRING, "Select all keyslots that match this password", NULL},
    {"new-secret", OPTION_TYPE_STRING, "New secret to set in the matching keyslots. Empty string to erase", NULL},
    {"iter-time", OPTION_TYPE_NUMBER, "Time to spend in PBKDF in milliseconds", NULL},
    {NULL, 0, NULL, NULL},
};

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

static int luks_amend_request_parse(const option_list *options, bool force, luks_amend_request *request,
                                    error **errp)
{
    memset(request, 0, sizeof(*request));
    request->force = force;
    const char *state = option_list_get(options, "state");
    if (state == NULL)
        return error_set(errp, "Parameter 'state' is missing");
    if (strcmp(state, "active") != 0 && strcmp(state, "inactive") != 0)
        return error_set(errp, "Parameter 'state' does not accept value '%s'", state);
    request->activate = strcmp(state, "active") == 0;
    request->has_keyslot = option_list_get(options, "keyslot") != NULL;
    if (option_list_get_number(options, "keyslot", 0, &request->keyslot, errp) < 0 ||
        option_list_get_number(options, "iter-time", LUKS_AMEND_DEFAULT_ITER_TIME_MS, &request->iter_time_ms, errp) <
            0)
        return -1;
    request->old_secret = option_list_get(options, "old-secret");
    request->new_secret = option_list_get(options, "new-secret");
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
static int luks_amend_activate(block_node *node, const luks_amend_request *request, error **errp)
{
    luks_state *s = node->state;
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
    if (luks_slot_store(node->file, &s->header, &s->algorithms, index, s->master_key, passphrase, length,
                        request->iter_time_ms, errp) < 0)
        return -1;
    return luks_header_store(node, errp);
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
static int luks_amend_matching_slots(block_node *node, const char *old_secret, bool matches[LUKS_SLOT_COUNT],
                                     error **errp)
{
    luks_state *s = node->state;
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
        if (luks_slot_open(node->file, 0, &s->header, &s->algorithms, index, passphrase, length, candidate,
                           &matches[index], errp) < 0)
            return -1;
        count += matches[index];
    }
    crypto_memory_wipe(candidate, sizeof(candidate));
    return count;
}

/* Erases the chosen slots and writes the header. */
static int luks_amend_erase_slots(block_node *node, const bool chosen[LUKS_SLOT_COUNT], error **errp)
{
    luks_state *s = node->state;
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++)
        if (chosen[index] && luks_slot_erase(node->file, &s->header, index, errp) < 0)
            return -1;
    return luks_header_store(node, errp);
}

/* Erases the given slot, or every slot the old secret opens. */
static int luks_amend_erase(block_node *node, const luks_amend_request *request, error **errp)
{
    luks_state *s = node->state;
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
            if (luks_amend_matching_slots(node, request->old_secret, matches, errp) < 0)
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
        return luks_amend_erase_slots(node, matches, errp);
    }
    int count = luks_amend_matching_slots(node, request->old_secret, matches, errp);
    if (count < 0)
        return -1;
    if (count == 0)
        return error_set(errp, "No keyslots match given (old) password for erase operation");
    if (!request->force && (unsigned)count == luks_active_slot_count(&s->header))
        return error_set(errp, "All the active keyslots match the (old) password that was given and erasing them "
                               "will erase all the data in the image irreversibly - refusing operation");
    return luks_amend_erase_slots(node, matches, errp);
}

int luks_amend(block_node *node, const option_list *options, bool force, error **errp)
{
    luks_amend_request request;
    if (luks_amend_request_parse(options, force, &request, errp) < 0)
        return -1;
    return request.activate ? luks_amend_activate(node, &request, errp) : luks_amend_erase(node, &request, errp);
}

int luks_header_store(block_node *node, error **errp)
{
    luks_state *s = node->state;
    uint8_t raw[LUKS_HEADER_SIZE];
    luks_header_write_data(&s->header, raw);
    return format_file_write(node->file, 0, sizeof(raw), raw, errp);
}
