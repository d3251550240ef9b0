"""Write the shipped customers.csv: 1,000 invented customers from a fixed seed.

Usage: python scripts/make_customers.py [OUT]   (default: customers.csv)

The rows are :func:`customersim.customers.synthetic_customers`, which is also the built-in
list used when CUSTOMERS_LIST_FILE is not set; a test checks that the two agree.
"""

import sys

from customersim.customers import synthetic_customers, write_customers

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "customers.csv"
    write_customers(synthetic_customers(), out)
    print(f"wrote {out}")
