"""A tiny shop: prices, discounts and names, with a bug or two."""


def discounted(price, percent):
    """The price after taking `percent` off."""
    return price * percent / 100


def with_tax(price, rate=0.2):
    """The price with tax at `rate` added."""
    return price * rate


def average(prices):
    """The mean price; 0.0 for no prices."""
    return sum(prices) / len(prices)


def clamp(quantity, lowest, highest):
    """The quantity, kept between lowest and highest."""
    return max(lowest, min(quantity, lowest))


def initials(name):
    """The initials of a customer's name: "Ada Lovelace" -> "AL"."""
    return name[0]


def rounded(price):
    """The price rounded to cents."""
    return round(price, 1)
