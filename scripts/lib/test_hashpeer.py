#!/usr/bin/env python3
"""Unit tests of hashpeer's pattern checker: each kind of damage a relay could do is named correctly.

Run: python3 scripts/lib/test_hashpeer.py (scripts/test.sh runs it). Standard library only.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hashpeer  # noqa: E402

MIB = 1024 * 1024


def feed_in_chunks(checker, data, chunk=65536 + 3):
    for start in range(0, len(data), chunk):
        checker.feed(data[start:start + chunk])
    return checker.result()


class PatternCheckerTests(unittest.TestCase):
    def stream(self, length, connection=0x1234, direction=0, start=0):
        return hashpeer.pattern_bytes(direction, connection, start, length)

    def test_words_are_what_the_doc_says(self):
        # 0xC0 | direction, 16-bit connection, 40-bit word index, big-endian: written out by hand.
        self.assertEqual(self.stream(16).hex(), "c012340000000000" "c012340000000001")
        self.assertEqual(self.stream(8, direction=1, start=8 * 5).hex(), "c112340000000005")
        self.assertEqual(self.stream(3, start=13).hex(), "000001")
        self.assertEqual(hashpeer.decode_word(bytes.fromhex("c1beef0000000102")), (1, 0xBEEF, 0x102 * 8))

    def test_intact_stream_passes(self):
        result = feed_in_chunks(hashpeer.PatternChecker(0), self.stream(4 * MIB))
        self.assertTrue(result["ok"], result)
        self.assertEqual(result["peer_connection"], 0x1234)
        self.assertEqual(result["checked"], 4 * MIB)

    def test_duplicated_bytes(self):
        data = self.stream(4 * MIB)
        damaged = data[:MIB] + data[MIB - 4096:MIB] + data[MIB:-4096]
        result = feed_in_chunks(hashpeer.PatternChecker(0), damaged)
        self.assertFalse(result["ok"])
        self.assertEqual(result["first_bad_offset"] // 8, MIB // 8)  # the first differing byte of the word
        self.assertIn("duplicated", result["diagnosis"])
        self.assertIn("by 4096 bytes", result["diagnosis"])

    def test_skipped_bytes_at_an_odd_offset(self):
        data = self.stream(2 * MIB)
        damaged = data[:1000003] + data[1000003 + 1460:] + bytes(1460)
        result = feed_in_chunks(hashpeer.PatternChecker(0), damaged)
        self.assertFalse(result["ok"])
        self.assertGreaterEqual(result["first_bad_offset"], 1000003)
        self.assertLess(result["first_bad_offset"], 1000003 + 8)
        self.assertIn("skipped", result["diagnosis"])
        self.assertIn("by 1460 bytes", result["diagnosis"])

    def test_another_connections_bytes(self):
        data = self.stream(2 * MIB)
        other = self.stream(32768, connection=0x0777, start=500 * 1024)
        damaged = data[:MIB] + other + data[MIB + 32768:]
        result = feed_in_chunks(hashpeer.PatternChecker(0), damaged)
        [[start, end]] = result["bad_ranges"]
        self.assertEqual((start // 8, (end + 7) // 8), (MIB // 8, (MIB + 32768) // 8))
        self.assertIn("connection 1911", result["diagnosis"])
        self.assertIn(f"its offset {500 * 1024}", result["diagnosis"])

    def test_zeros(self):
        data = self.stream(MIB)
        damaged = data[:4096] + bytes(4096) + data[8192:]
        result = feed_in_chunks(hashpeer.PatternChecker(0), damaged)
        self.assertEqual(result["bad_ranges"], [[4096, 8192]])
        self.assertIn("zeros from offset 4096", result["diagnosis"])

    def test_wrong_direction_is_refused(self):
        result = feed_in_chunks(hashpeer.PatternChecker(1), self.stream(MIB, direction=0))
        self.assertFalse(result["ok"])


if __name__ == "__main__":
    unittest.main()
