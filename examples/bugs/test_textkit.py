import unittest

from textkit.count import word_count
from textkit.reverse import reverse_words
from textkit.title import title_case
from textkit.vowels import count_vowels


class TextkitTest(unittest.TestCase):
    def test_empty_title(self):
        self.assertEqual(title_case(""), "")

    def test_word_count(self):
        self.assertEqual(word_count("one  two   three"), 3)

    def test_reverse_words(self):
        self.assertEqual(reverse_words("one two three"), "three two one")

    def test_title_case(self):
        self.assertEqual(title_case("hello WORLD"), "Hello World")

    def test_count_vowels(self):
        self.assertEqual(count_vowels("Queue Up"), 5)


if __name__ == "__main__":
    unittest.main()
