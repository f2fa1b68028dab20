/* The portal's templating: data escaped by default, URL components encoded, markup only when asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "portal/html.h"

static char *render(struct gh_buf *b)
{
    gh_buf_add(b, "", 1);
    return b->p;
}

static void test_escaping(void **state)
{
    (void)state;
    struct gh_buf b = {0};
    gh_html(&b, "<p title=\"{}\">{}</p>", "a\"b'c", "<script>&amp;</script>");
    assert_string_equal(render(&b), "<p title=\"a&quot;b&#39;c\">&lt;script&gt;&amp;amp;&lt;/script&gt;</p>");
    gh_buf_free(&b);
    gh_html(&b, "<a href=\"/catalog/{u}?q={u}\">{}</a>", "a b/c?d", "x&y=\"z\"", NULL);
    assert_string_equal(render(&b), "<a href=\"/catalog/a%20b%2Fc%3Fd?q=x%26y%3D%22z%22\"></a>");
    gh_buf_free(&b);
    gh_html(&b, "{!}{}", "<b>ok</b>", "<b>no</b>");
    assert_string_equal(render(&b), "<b>ok</b>&lt;b&gt;no&lt;/b&gt;");
    gh_buf_free(&b);
    gh_html(&b, "pattern=\"[a-z]{{0,62}\" {}", "x");
    assert_string_equal(render(&b), "pattern=\"[a-z]{0,62}\" x");
    gh_buf_free(&b);
    gh_html(&b, "no placeholders at all");
    assert_string_equal(render(&b), "no placeholders at all");
    gh_buf_free(&b);
    /* a mistake in a template shows, and writes no argument unescaped */
    gh_html(&b, "{zz} {", "<x>");
    assert_string_equal(render(&b), "{?} {?}");
    gh_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_escaping)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
