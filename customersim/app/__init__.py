"""Helpers of the Streamlit app (``app.py``): the parts of the page that can be tested without it.

:mod:`customersim.app.support` turns widget values into configs and figures' inputs;
:mod:`customersim.app.live` runs one background publisher per browser session.
"""
