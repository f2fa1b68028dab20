/*
 * catalog_bench: the catalog's query latency on a large catalog (make bench). Builds a catalog of N
 * entities (default 100,000: groups, systems, components, APIs, resources, users, with owners,
 * systems, tags and relations) straight into a fresh store, then times queries the portal and the
 * Backstage API make, each many times, and prints p50/p99/max per query in milliseconds.
 *
 *   catalog_bench DB [N] [ROUNDS]
 */
#include "base/json.h"
#include "catalog/db.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double now_ms(void)
{
    return (double)gh_time_mono_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct gh_json *J(const char *text)
{
    struct gh_err err = {{0}};
    struct gh_json *j = gh_json_parse(text, strlen(text), &err);
    if (j == NULL) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    return j;
}

static const char *words[] = {"payments", "orders",   "billing", "search",  "accounts", "inventory", "shipping",
                              "pricing",  "catalog",  "profile", "reviews", "checkout", "identity",  "ledger",
                              "invoices", "refunds",  "loyalty", "fraud",   "risk",     "analytics"};

static void build(struct gh_store *s, size_t n)
{
    char id[GH_LOCATION_ID_MAX];
    struct gh_err err = {{0}};
    if (gh_catalog_location_add(s, "file", "/bench/catalog", "cli", id, NULL, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    struct gh_catalog_batch *b = gh_catalog_batch_new();
    char text[2048];
    size_t teams = n / 200 + 1, systems = n / 50 + 1;
    for (size_t i = 0; i < n; i++) {
        const char *w1 = words[i % 20], *w2 = words[(i / 20) % 20];
        size_t t = i % teams, sy = i % systems;
        if (i < teams)
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Group\",\"metadata\":{\"name\":\"team-%zu\","
                     "\"description\":\"The %s team\"},\"spec\":{\"type\":\"team\",\"children\":[]}}",
                     i, w1);
        else if (i < teams + systems)
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"System\",\"metadata\":{\"name\":\"sys-%zu\","
                     "\"description\":\"%s and %s\"},\"spec\":{\"owner\":\"team-%zu\"}}",
                     i, w1, w2, t);
        else if (i % 5 == 0)
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"API\",\"metadata\":{\"name\":\"%s-api-%zu\","
                     "\"title\":\"%s %s API %zu\",\"description\":\"Lets clients manage %s for %s\",\"tags\":[\"%s\",\"rest\"]},"
                     "\"spec\":{\"type\":\"openapi\",\"lifecycle\":\"%s\",\"owner\":\"team-%zu\",\"system\":\"sys-%zu\","
                     "\"definition\":\"openapi: 3.0.0\"}}",
                     w1, i, w1, w2, i, w1, w2, w1, i % 3 ? "production" : "experimental", t, teams + sy);
        else if (i % 5 == 1)
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Resource\",\"metadata\":{\"name\":\"db-%zu\"},"
                     "\"spec\":{\"type\":\"database\",\"owner\":\"team-%zu\",\"system\":\"sys-%zu\"}}",
                     i, t, teams + sy);
        else if (i % 5 == 2)
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"User\",\"metadata\":{\"name\":\"user-%zu\"},"
                     "\"spec\":{\"profile\":{\"displayName\":\"User %zu\"},\"memberOf\":[\"team-%zu\"]}}",
                     i, i, t);
        else
            snprintf(text, sizeof(text),
                     "{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\",\"metadata\":{\"name\":\"%s-svc-%zu\","
                     "\"description\":\"Serves %s to %s\",\"tags\":[\"%s\",\"java\"]},\"spec\":{\"type\":\"%s\","
                     "\"lifecycle\":\"production\",\"owner\":\"team-%zu\",\"system\":\"sys-%zu\","
                     "\"providesApis\":[\"%s-api-%zu\"],\"dependsOn\":[\"resource:db-%zu\"]}}",
                     w1, i, w1, w2, w2, i % 2 ? "service" : "website", t, teams + sy, w1, i - i % 5,
                     i - i % 5 + 1);
        struct gh_json *e = J(text);
        struct gh_entity_ref ref;
        if (gh_entity_check(e, &ref, &err) != 0) {
            fprintf(stderr, "bench: %s\n", err.msg);
            exit(1);
        }
        char source[64];
        snprintf(source, sizeof(source), "/bench/catalog.yaml:%zu", i + 1);
        gh_catalog_batch_add(b, e, &ref, source, NULL);
    }
    double t0 = now_ms();
    struct gh_catalog_counts c;
    if (gh_catalog_commit(s, id, b, &c, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    printf("catalog: stored %zu entities in %.1f s (%zu errors)\n", c.added, (now_ms() - t0) / 1000, c.errors);
    gh_catalog_batch_free(b);
}

struct q {
    const char *name;
    const char *filter; /* NULL: none */
    const char *order;
    const char *text;
    const char *search; /* full-text search instead */
    const char *kind;
    size_t limit;
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: catalog_bench DB [N] [ROUNDS]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    int rounds = argc > 3 ? atoi(argv[3]) : 200;
    gh_log_level = GH_LOG_WARN;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct gh_store_config cfg = {"sqlite", argv[1]};
    struct gh_store *s;
    struct gh_err err = {{0}};
    if (gh_store_open(&cfg, &s, &err) != 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    build(s, n);
    static const struct q qs[] = {
        {"filter kind=component,spec.type=service (page of 20, total)", "kind=component,spec.type=service", NULL, NULL,
         NULL, NULL, 20},
        {"filter relations.ownedby=group:default/team-7 (page of 20)", "relations.ownedby=group:default/team-7", NULL,
         NULL, NULL, NULL, 20},
        {"filter kind=api,metadata.tags=payments order by metadata.name", "kind=api,metadata.tags=payments",
         "metadata.name", NULL, NULL, NULL, 20},
        {"filter kind=api order by spec.lifecycle (a search key)", "kind=api", "spec.lifecycle", NULL, NULL, NULL, 20},
        {"by-query fullTextFilter 'svc-4242' on metadata.name", "kind=component", NULL, "svc-4242", NULL, NULL, 20},
        {"search 'payments ledger' (FTS5, ranked)", NULL, NULL, NULL, "payments ledger", NULL, 20},
        {"search 'invoic' kind=api (prefix)", NULL, NULL, NULL, "invoic", "api", 20},
        {"search 'paymnets' (typo, corrected)", NULL, NULL, NULL, "paymnets", NULL, 20},
    };
    double *t = malloc(sizeof(double) * (size_t)rounds);
    int worst_ok = 1;
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        const struct q *q = &qs[k];
        size_t results = 0, total = 0;
        for (int r = 0; r < rounds; r++) {
            double t0 = now_ms();
            struct gh_json *items = NULL;
            if (q->search) {
                items = gh_catalog_search(s, q->search, q->kind, q->limit, &err);
                total = gh_json_size(items);
            } else {
                struct gh_filter f = {0};
                if (q->filter)
                    gh_filter_add(&f, q->filter, strlen(q->filter), &err);
                struct gh_catalog_query cq = {.filter = &f, .order_key = q->order, .text = q->text, .limit = q->limit};
                if (gh_catalog_query(s, &cq, &items, &total, &err) != 0) {
                    fprintf(stderr, "bench: %s\n", err.msg);
                    return 1;
                }
                gh_filter_free(&f);
            }
            results = gh_json_size(items);
            gh_json_unref(items);
            t[r] = now_ms() - t0;
        }
        qsort(t, (size_t)rounds, sizeof(double), cmp_double);
        double p99 = t[(size_t)(rounds * 99 / 100)];
        printf("catalog: %-62s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (%zu of %zu)\n", q->name, t[rounds / 2], p99,
               t[rounds - 1], results, total);
        if (p99 >= 10.0)
            worst_ok = 0;
    }
    printf("catalog: p99 < 10 ms for every query: %s\n", worst_ok ? "yes" : "NO");
    free(t);
    gh_store_close(s);
    return 0;
}
