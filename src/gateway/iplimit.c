/*
 * iplimit.c: see iplimit.h.
 */
#include "iplimit.h"

#include <urcu.h>
#include <urcu/rculfhash.h>

#include <stdlib.h>
#include <string.h>

struct gh_iplimit *gh_gateway_iplimit;

#define IP_MAX 48

struct entry {
    struct cds_lfht_node node;
    struct rcu_head rcu;
    int slot;
    uint8_t len;
    char ip[IP_MAX];
    _Atomic uint64_t tat;
};

struct gh_iplimit {
    struct cds_lfht *ht;
};

struct lookup {
    int slot;
    struct gh_str ip;
};

static unsigned long entry_hash(int slot, struct gh_str ip)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)slot;
    for (size_t i = 0; i < ip.len; i++)
        h = (h ^ (unsigned char)ip.p[i]) * 1099511628211ULL;
    return (unsigned long)h;
}

static int match(struct cds_lfht_node *n, const void *key)
{
    const struct entry *e = caa_container_of(n, struct entry, node);
    const struct lookup *k = key;
    return e->slot == k->slot && e->len == k->ip.len && memcmp(e->ip, k->ip.p, e->len) == 0;
}

struct gh_iplimit *gh_iplimit_new(void)
{
    struct gh_iplimit *t = gh_calloc(1, sizeof(*t));
    t->ht = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    return t;
}

static void free_entry(struct rcu_head *h)
{
    free(caa_container_of(h, struct entry, rcu));
}

void gh_iplimit_free(struct gh_iplimit *t)
{
    if (t == NULL)
        return;
    struct cds_lfht_iter it;
    struct entry *e;
    rcu_read_lock();
    cds_lfht_for_each_entry(t->ht, &it, e, node)
    {
        if (cds_lfht_del(t->ht, &e->node) == 0)
            call_rcu(&e->rcu, free_entry);
    }
    rcu_read_unlock();
    rcu_barrier();
    cds_lfht_destroy(t->ht, NULL);
    free(t);
}

struct gh_rate_result gh_iplimit_take(struct gh_iplimit *t, int slot, struct gh_str ip,
                                      const struct gh_rate *r, uint64_t now_ns)
{
    if (ip.len > IP_MAX)
        ip.len = IP_MAX;
    struct lookup k = {slot, ip};
    unsigned long h = entry_hash(slot, ip);
    rcu_read_lock();
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->ht, h, match, &k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    if (n == NULL) {
        struct entry *e = gh_calloc(1, sizeof(*e));
        e->slot = slot;
        e->len = (uint8_t)ip.len;
        memcpy(e->ip, ip.p, ip.len);
        cds_lfht_node_init(&e->node);
        n = cds_lfht_add_unique(t->ht, h, match, &k, &e->node);
        if (n != &e->node)
            free(e); /* another worker added it first: take from theirs */
    }
    struct gh_rate_result res = gh_rate_take(r, &caa_container_of(n, struct entry, node)->tat, now_ns);
    rcu_read_unlock();
    return res;
}

size_t gh_iplimit_sweep(struct gh_iplimit *t, uint64_t now_ns)
{
    size_t left = 0;
    struct cds_lfht_iter it;
    struct entry *e;
    rcu_read_lock();
    cds_lfht_for_each_entry(t->ht, &it, e, node)
    {
        /* a state whose theoretical arrival time has passed allows a full burst: the same as none */
        if (atomic_load(&e->tat) <= now_ns) {
            if (cds_lfht_del(t->ht, &e->node) == 0)
                call_rcu(&e->rcu, free_entry);
        } else {
            left++;
        }
    }
    rcu_read_unlock();
    return left;
}
