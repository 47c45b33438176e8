"""A party's visit to a table: the table and its QR token, the visit, calls to staff, the bill, the shares diners pay, receipts and the day's report."""
