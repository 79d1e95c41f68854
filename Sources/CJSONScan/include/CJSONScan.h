#ifndef CJSONSCAN_H
#define CJSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// The index of the first byte in `base[index..<end]` that a JSON string scanner must look at
/// on its own: a quote, a backslash, a control character (< 0x20) or a non-ASCII byte; `end`
/// when there is none. Sixteen bytes per step with SSE2 (part of every x86-64 CPU), so a short
/// key is usually settled by one load; the tail goes byte by byte and never reads past `end`.
/// Static inline so that Swift inlines it into the scanner's loops.
static inline ptrdiff_t CJSONScan_findStringSpecial(const uint8_t *base, ptrdiff_t index, ptrdiff_t end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i lastControl = _mm_set1_epi8(0x1F);
    while (end - index >= 16) {
        const __m128i chunk = _mm_loadu_si128((const __m128i *)(const void *)(base + index));
        const __m128i isControl = _mm_cmpeq_epi8(_mm_min_epu8(chunk, lastControl), chunk);
        const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)), isControl);
        // The sign bit of each byte is set exactly for non-ASCII bytes.
        const unsigned mask = (unsigned)_mm_movemask_epi8(special) | (unsigned)_mm_movemask_epi8(chunk);
        if (mask != 0) return index + __builtin_ctz(mask);
        index += 16;
    }
#endif
    while (index < end) {
        const uint8_t byte = base[index];
        if (byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80) return index;
        index += 1;
    }
    return end;
}

/// Writes the standard base64 encoding (RFC 4648) of the longest prefix of `source` that the
/// vector path handles (a multiple of 24 bytes, leaving at least 4 bytes unread past it) to
/// `destination`, and returns how many source bytes it consumed (each 3 give 4 characters).
/// Uses AVX2 when the CPU has it and consumes nothing otherwise; the caller encodes the rest.
size_t CJSONScan_base64EncodeBlocks(const uint8_t *source, size_t count, uint8_t *destination);

#endif
