/* rfl-hash-embedder.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The built-in embedder, so that memory search works with no provider and
 * no network. It hashes features of the text into a fixed number of signed
 * buckets: each word, each pair of neighbouring words, and the character
 * 3-grams of each word between boundary marks ("<cat>" gives "<ca", "cat",
 * "at>"). Words weigh most, word pairs less, character 3-grams least, so
 * texts sharing words score highest while spelling variants still meet.
 *
 * The text is NFKC-normalised and case-folded first; words are runs of
 * letters, digits and combining marks, and every Han, Hiragana or Katakana
 * character is a word of its own. The result is L2-normalised and fully
 * deterministic: the same text gives the same vector on every machine and
 * in every run. Any change to what it computes needs a new id, since stored
 * vectors carry the id of the embedder that made them. */

#define RFL_HASH_EMBEDDER_ID   "hash-384-v1"
#define RFL_HASH_EMBEDDER_DIMS 384

/* Writes RFL_HASH_EMBEDDER_DIMS floats into @out. @length is in bytes, or
 * -1 when @text is nul-terminated; invalid UTF-8 is repaired first. Returns
 * FALSE, with @out all zeros, when the text holds no word at all. */
gboolean rfl_hash_embedder_embed (const char *text,
                                  gssize      length,
                                  float      *out);

G_END_DECLS
