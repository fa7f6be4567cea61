import unittest

from shop import rounded


class ShopTest(unittest.TestCase):
    def test_rounded_keeps_whole_prices(self):
        self.assertEqual(rounded(3.0), 3.0)


if __name__ == "__main__":
    unittest.main()
