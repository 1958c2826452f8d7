"""conll"""
