/* print.c — human renderings shared by info, snapshot and check (spec/architecture.md §Command line). */
#include "print.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/memory.h"
#include "../util/size.h"

static void print_json_value_human(const json_value *value, int indentation);

static void print_json_list_human(const json_value *list, int indentation)
{
    for (size_t i = 0; i < list->item_count; i++) {
        const json_value *item = list->items[i];
        bool composite = item->type == JSON_OBJECT || item->type == JSON_ARRAY;
        printf("%*s[%zu]:%c", indentation * 4, "", i, composite ? '\n' : ' ');
        print_json_value_human(item, indentation + 1);
    }
}

void print_json_members_human(const json_value *object, int indentation)
{
    const json_member **order = json_members_ordered(object);
    for (size_t i = 0; i < object->member_count; i++) {
        const json_value *value = order[i]->value;
        bool composite = value->type == JSON_OBJECT || value->type == JSON_ARRAY;
        char *key = memory_strdup(order[i]->key);
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = ' ';
        printf("%*s%s:%s", indentation * 4, "", key, composite ? "\n" : " ");
        free(key);
        print_json_value_human(value, indentation + 1);
    }
    free(order);
}

static void print_json_value_human(const json_value *value, int indentation)
{
    switch (value->type) {
    case JSON_INTEGER:
        if (value->is_unsigned)
            printf("%llu\n", (unsigned long long)(uint64_t)value->integer);
        else
            printf("%lld\n", (long long)value->integer);
        break;
    case JSON_DOUBLE: printf("%f\n", value->number); break;
    case JSON_STRING: printf("%s\n", value->string); break;
    case JSON_BOOL: printf("%s\n", value->boolean ? "true" : "false"); break;
    case JSON_OBJECT: print_json_members_human(value, indentation); break;
    case JSON_ARRAY: print_json_list_human(value, indentation); break;
    case JSON_NULL: printf("null\n"); break;
    }
}

void print_snapshot_header(void)
{
    printf("%-7s %-16s %8s %19s %15s %10s", "ID", "TAG", "VM_SIZE", "DATE", "VM_CLOCK", "ICOUNT");
}

void print_snapshot_row(const snapshot_info *sn)
{
    char date[64], clock[64], icount[32] = "", size[32];
    time_t seconds = (time_t)sn->date_sec;
    struct tm tm;
    localtime_r(&seconds, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;
    snprintf(clock, sizeof(clock), "%04d:%02d:%02d.%03d", (int)(secs / 3600), (int)((secs / 60) % 60),
             (int)(secs % 60), (int)((sn->vm_clock_nsec / 1000000) % 1000));
    if (sn->has_icount)
        snprintf(icount, sizeof(icount), "%llu", (unsigned long long)sn->icount);
    size_format_human(sn->vm_state_size, size, sizeof(size));
    printf("%-7s %-16s %8s %19s %15s %10s", sn->id ? sn->id : "", sn->name ? sn->name : "", size, date, clock,
           icount);
}

/* Reads a snapshot back from its SnapshotInfo object. */
static void print_snapshot_from_json(const json_value *o, snapshot_info *sn)
{
    json_value *v;
    memset(sn, 0, sizeof(*sn));
    if ((v = json_object_get(o, "id")))
        sn->id = v->string;
    if ((v = json_object_get(o, "name")))
        sn->name = v->string;
    if ((v = json_object_get(o, "vm-state-size")))
        sn->vm_state_size = (uint64_t)v->integer;
    if ((v = json_object_get(o, "date-sec")))
        sn->date_sec = (uint32_t)v->integer;
    if ((v = json_object_get(o, "date-nsec")))
        sn->date_nsec = (uint32_t)v->integer;
    uint64_t clock = 0;
    if ((v = json_object_get(o, "vm-clock-sec")))
        clock = (uint64_t)v->integer * 1000000000ULL;
    if ((v = json_object_get(o, "vm-clock-nsec")))
        clock += (uint64_t)v->integer;
    sn->vm_clock_nsec = clock;
    if ((v = json_object_get(o, "icount"))) {
        sn->has_icount = true;
        sn->icount = (uint64_t)v->integer;
    }
}

void print_image_info_human(const json_value *info, int indentation, const char *path)
{
    const json_value *children = json_object_get(info, "children");
    /* The image itself is always an "image"; a child without children of its own is a protocol. */
    bool protocol = indentation > 0 && (children == NULL || children->item_count == 0);
    char indent[64];
    snprintf(indent, sizeof(indent), "%*s", indentation * 4, "");
    const json_value *v;
    char size_text[32], disk_text[32];
    uint64_t virtual_size = (v = json_object_get(info, "virtual-size")) ? (uint64_t)v->integer : 0;
    v = json_object_get(info, "actual-size");
    if (v)
        size_format_human((uint64_t)v->integer, disk_text, sizeof(disk_text));
    else
        snprintf(disk_text, sizeof(disk_text), "unavailable");
    size_format_human(virtual_size, size_text, sizeof(size_text));
    printf("%s%s: %s\n", indent, protocol ? "filename" : "image", json_object_get(info, "filename")->string);
    printf("%s%s: %s\n", indent, protocol ? "protocol type" : "file format",
           json_object_get(info, "format")->string);
    printf("%s%s: %s (%llu bytes)\n", indent, protocol ? "file length" : "virtual size", size_text,
           (unsigned long long)virtual_size);
    printf("%sdisk size: %s\n", indent, disk_text);
    if ((v = json_object_get(info, "encrypted")) && v->boolean)
        printf("%sencrypted: yes\n", indent);
    if ((v = json_object_get(info, "cluster-size")))
        printf("%scluster_size: %lld\n", indent, (long long)v->integer);
    if ((v = json_object_get(info, "dirty-flag")) && v->boolean)
        printf("%scleanly shut down: no\n", indent);
    const json_value *backing = json_object_get(info, "backing-filename");
    if (backing) {
        const json_value *full = json_object_get(info, "full-backing-filename");
        printf("%sbacking file: %s", indent, backing->string);
        if (full == NULL)
            printf(" (cannot determine actual path)");
        else if (strcmp(backing->string, full->string) != 0)
            printf(" (actual path: %s)", full->string);
        printf("\n");
        if ((v = json_object_get(info, "backing-filename-format")))
            printf("%sbacking file format: %s\n", indent, v->string);
    }
    const json_value *limits = json_object_get(info, "limits");
    if (limits && limits->member_count > 0) {
        printf("%sBlock limits:\n", indent);
        print_json_value_human(limits, indentation + 1);
    }
    const json_value *snapshots = json_object_get(info, "snapshots");
    if (snapshots) {
        printf("%sSnapshot list:\n", indent);
        printf("%s", indent);
        print_snapshot_header();
        printf("\n");
        for (size_t i = 0; i < snapshots->item_count; i++) {
            snapshot_info sn;
            print_snapshot_from_json(snapshots->items[i], &sn);
            printf("%s", indent);
            print_snapshot_row(&sn);
            printf("\n");
        }
    }
    const json_value *specific = json_object_get(info, "format-specific");
    if (specific) {
        const json_value *data = json_object_get(specific, "data");
        if (data && !(data->type == JSON_OBJECT && data->member_count == 0)) {
            printf("%sFormat specific information:\n", indent);
            print_json_value_human(data, indentation + 1);
        }
    }
    if (children) {
        for (size_t i = 0; i < children->item_count; i++) {
            const json_value *child = children->items[i];
            const char *name = json_object_get(child, "name")->string;
            printf("%*sChild node '%s%s':\n", indentation * 4, "", path, name);
            char *child_path = memory_printf("%s%s/", path, name);
            print_image_info_human(json_object_get(child, "info"), indentation + 1, child_path);
            free(child_path);
        }
    }
}
