/* test_worker.c — cmocka tests of the helper thread, impl/util/worker.h (spec/architecture.md
 * §Concurrency, §Tests). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "worker.h"

typedef struct task_record {
    pthread_t thread; /* where the task ran */
    uint64_t sum;
    uint64_t upto;
} task_record;

static void sum_task(void *argument)
{
    task_record *r = argument;
    r->thread = pthread_self();
    r->sum = 0;
    for (uint64_t i = 1; i <= r->upto; i++)
        r->sum += i;
}

static void test_tasks_run_on_the_helper_in_turn(void **state)
{
    (void)state;
    worker w;
    assert_true(worker_start(&w));
    for (uint64_t n = 0; n < 2000; n++) {
        task_record r = {.upto = n};
        worker_run(&w, sum_task, &r);
        worker_wait(&w);
        assert_true(r.sum == n * (n + 1) / 2);
        assert_false(pthread_equal(r.thread, pthread_self()));
    }
    worker_stop(&w);
}

static void test_caller_and_helper_work_at_once(void **state)
{
    (void)state;
    worker w;
    assert_true(worker_start(&w));
    task_record theirs = {.upto = 3000000}, mine = {.upto = 3000000};
    worker_run(&w, sum_task, &theirs);
    sum_task(&mine);
    worker_wait(&w);
    assert_true(theirs.sum == mine.sum);
    worker_wait(&w); /* waiting again with nothing in hand returns */
    worker_stop(&w);
}

static void test_without_a_thread_tasks_run_in_the_caller(void **state)
{
    (void)state;
    worker w;
    memset(&w, 0, sizeof(w)); /* as worker_start leaves it when the thread cannot start */
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.changed, NULL);
    task_record r = {.upto = 10};
    worker_run(&w, sum_task, &r);
    worker_wait(&w);
    assert_true(r.sum == 55);
    assert_true(pthread_equal(r.thread, pthread_self()));
    worker_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_run_on_the_helper_in_turn),
        cmocka_unit_test(test_caller_and_helper_work_at_once),
        cmocka_unit_test(test_without_a_thread_tasks_run_in_the_caller),
    };
    return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
