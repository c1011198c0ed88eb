/* test_pipeline.c — cmocka tests of the two-stage ordered pipeline, impl/util/pipeline.h
 * (spec/architecture.md §Concurrency, §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline.h"

enum { BUFFER_SIZE = 4096 };

/* What one test's producer and consumer count. */
typedef struct counting {
    size_t items;       /* how many the producer makes */
    size_t produced;
    size_t consumed;
    size_t stop_at;     /* the consumer stops at this item (SIZE_MAX: never) */
    size_t fail_at;     /* the producer reports a failure in this item (SIZE_MAX: never) */
    size_t out_of_order;
    size_t wrong_buffer;
    size_t failures_seen;
} counting;

typedef struct numbered {
    size_t number;
    int failed;
} numbered;

static int counting_produce(void *context, void *item, uint8_t *buffer)
{
    counting *c = context;
    numbered *n = item;
    if (c->produced >= c->items)
        return 0;
    n->number = c->produced;
    memset(buffer, (int)(c->produced & 0xff), BUFFER_SIZE);
    if (c->produced == c->fail_at) {
        n->failed = 1;
        c->produced = c->items; /* nothing after a failure */
        return 1;
    }
    c->produced++;
    return 1;
}

static int counting_consume(void *context, void *item, uint8_t *buffer)
{
    counting *c = context;
    numbered *n = item;
    if (n->number != c->consumed)
        c->out_of_order++;
    for (size_t i = 0; i < BUFFER_SIZE; i++)
        if (buffer[i] != (uint8_t)(n->number & 0xff)) {
            c->wrong_buffer++;
            break;
        }
    c->consumed++;
    if (n->failed) {
        c->failures_seen++;
        return -1;
    }
    return n->number == c->stop_at ? -1 : 0;
}

static int run_counting(counting *c, size_t depth)
{
    pipeline_config config = {
        .depth = depth,
        .buffer_size = BUFFER_SIZE,
        .item_size = sizeof(numbered),
        .produce = counting_produce,
        .consume = counting_consume,
        .context = c,
    };
    return pipeline_run(&config);
}

static void test_every_item_in_order(void **state)
{
    (void)state;
    for (size_t depth = 1; depth <= 8; depth++) {
        counting c = {.items = 5000, .stop_at = SIZE_MAX, .fail_at = SIZE_MAX};
        assert_int_equal(run_counting(&c, depth), 0);
        assert_int_equal(c.consumed, 5000);
        assert_int_equal(c.out_of_order, 0);
        assert_int_equal(c.wrong_buffer, 0);
    }
}

static void test_no_items(void **state)
{
    (void)state;
    counting c = {.items = 0, .stop_at = SIZE_MAX, .fail_at = SIZE_MAX};
    assert_int_equal(run_counting(&c, 3), 0);
    assert_int_equal(c.consumed, 0);
}

static void test_consumer_stops_the_producer(void **state)
{
    (void)state;
    for (size_t depth = 1; depth <= 4; depth++) {
        counting c = {.items = 100000, .stop_at = 10, .fail_at = SIZE_MAX};
        assert_int_equal(run_counting(&c, depth), -1);
        assert_int_equal(c.consumed, 11);
        /* the producer runs at most depth items ahead of the consumer */
        assert_true(c.produced <= 11 + depth);
    }
}

static void test_producer_failure_reaches_consumer_in_turn(void **state)
{
    (void)state;
    for (size_t depth = 1; depth <= 4; depth++) {
        counting c = {.items = 100, .stop_at = SIZE_MAX, .fail_at = 37};
        assert_int_equal(run_counting(&c, depth), -1);
        assert_int_equal(c.consumed, 38); /* every item before the failure, then the failure */
        assert_int_equal(c.failures_seen, 1);
        assert_int_equal(c.out_of_order, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_in_order),
        cmocka_unit_test(test_no_items),
        cmocka_unit_test(test_consumer_stops_the_producer),
        cmocka_unit_test(test_producer_failure_reaches_consumer_in_turn),
    };
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
