/*
 * html: the portal's templating, escaped by default. A template is a string with placeholders, each
 * taking the next argument (a string; NULL stands for ""):
 *   {}   the text HTML-escaped (& < > " ' become entities): safe in element content and in quoted
 *        attribute values
 *   {u}  the text percent-encoded for one URL component (a path segment or a query value), then
 *        escaped: safe inside href="..."
 *   {!}  the text as is -- only for markup this program built itself, never for data
 *   {{   a literal "{"
 * Anything else in braces is a programming error and is written out visibly as "{?}".
 */
#ifndef GH_PORTAL_HTML_H
#define GH_PORTAL_HTML_H

#include "../base/base.h"

void gh_html(struct gh_buf *b, const char *tpl, ...);

#endif
