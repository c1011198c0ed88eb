/* luks.h — the luks format driver: a LUKS1 header at offset 0 of the file and the payload after it
 * (spec/luks.md); the header, key slots and cipher are formats/common/luks_block.h's. */
#ifndef QIMG_FORMATS_LUKS_H
#define QIMG_FORMATS_LUKS_H

#include "../common/luks_block.h"

/* The driver's pieces in other files. */
extern const option_desc luks_create_options[];
extern const option_desc luks_amend_options[];
int luks_create(const char *filename, const option_list *options, error **errp);
int luks_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp);
int luks_amend(block_node *node, const option_list *options, bool force, error **errp);

/* The open image. */
typedef struct luks_state {
    luks_block block;
    block_node *header_node;       /* a detached header's file (header.filename), or NULL */
    bool header_adopted;           /* the node closes header_node (it is a child) */
    uint64_t payload_offset;       /* bytes */
    char *key_secret;              /* the secret id the image was opened with */
} luks_state;

#endif
