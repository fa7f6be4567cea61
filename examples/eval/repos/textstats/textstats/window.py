def windows(seq, n):
    """Every run of `n` consecutive items of `seq`, in order."""
    if n <= 0:
        raise ValueError("n must be positive")
    return [seq[i:i + n] for i in range(len(seq) - n)]
