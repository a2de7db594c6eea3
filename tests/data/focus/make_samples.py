"""Writes the small FOCUS samples of this folder: one conformant file per FOCUS version and a
variant of each with the syntax defects real exports have. Run: python tests/data/focus/make_samples.py tests/data/focus
"""
import csv
import io
import json
import sys
from pathlib import Path

OUT = Path(sys.argv[1])
V10 = ["AvailabilityZone","BilledCost","BillingAccountId","BillingAccountName","BillingCurrency","BillingPeriodEnd",
       "BillingPeriodStart","ChargeCategory","ChargeClass","ChargeDescription","ChargeFrequency","ChargePeriodEnd",
       "ChargePeriodStart","CommitmentDiscountCategory","CommitmentDiscountId","CommitmentDiscountName",
       "CommitmentDiscountStatus","CommitmentDiscountType","ConsumedQuantity","ConsumedUnit","ContractedCost",
       "ContractedUnitPrice","EffectiveCost","InvoiceIssuerName","ListCost","ListUnitPrice","PricingCategory",
       "PricingQuantity","PricingUnit","ProviderName","PublisherName","RegionId","RegionName","ResourceId",
       "ResourceName","ResourceType","ServiceCategory","ServiceName","SkuId","SkuPriceId","SubAccountId",
       "SubAccountName","Tags"]
V11 = V10 + ["ServiceSubcategory","SkuMeter","SkuPriceDetails","CommitmentDiscountQuantity","CommitmentDiscountUnit",
             "CapacityReservationId","CapacityReservationStatus"]
V12 = V11 + ["InvoiceId","BillingAccountType","SubAccountType","PricingCurrency","PricingCurrencyContractedUnitPrice",
             "PricingCurrencyEffectiveCost","PricingCurrencyListUnitPrice"]
V13 = V12 + ["ServiceProviderName","HostProviderName","AllocatedMethodId","AllocatedMethodDetails",
             "AllocatedResourceId","AllocatedResourceName","AllocatedTags","ContractApplied"]
CUSTOM = ["x_ChargeId", "x_CostCenterCode"]

MARCH = ("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z")
ACCOUNTS = {"A": ("nimbus-ba-0001", "Contoso Payer", "INV-202503-0001"),
            "B": ("nimbus-ba-0002", "Contoso Research", "INV-202503-0002")}
SUBS = {"eng": ("acct-eng-01", "Engineering platform"), "data": ("acct-data-01", "Data lake"),
        "misc": ("acct-misc-01", "Sandbox"), "fin": ("acct-fin-01", "Finance apps")}
SERVICES = {"vm": ("Nimbus Virtual Machines", "Compute", "Virtual Machines", "Hours", "vm.standard.2"),
            "blob": ("Nimbus Object Storage", "Storage", "Object Storage", "GB-Months", "storage.hot"),
            "sql": ("Nimbus SQL", "Databases", "Relational Databases", "Hours", "sql.gp.4"),
            "support": ("Nimbus Support", "Management and Governance", "Support", "Units", "support.business"),
            "k8s": ("Nimbus Kubernetes", "Compute", "Containers", "Hours", "k8s.node.4")}

def row(n, account, sub, service, *, cost, qty, price, start, end, category="Usage", klass=None, tags=None,
        frequency="Usage-Based", description=None, cost_center=None, period=MARCH):
    acc_id, acc_name, invoice = ACCOUNTS[account]
    sub_id, sub_name = SUBS[sub]
    name, cat, subcat, unit, sku = SERVICES[service]
    priced = qty is not None
    r = {c: None for c in V13 + CUSTOM}
    r.update({
        "AvailabilityZone": "nimbus-west-1a" if service in ("vm", "sql") else None,
        "BilledCost": cost, "EffectiveCost": cost, "ContractedCost": cost, "ListCost": cost if not priced else price_times(price, qty),
        "BillingAccountId": acc_id, "BillingAccountName": acc_name, "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD", "BillingPeriodStart": period[0], "BillingPeriodEnd": period[1],
        "ChargeCategory": category, "ChargeClass": klass, "ChargeDescription": description or f"{name} {sku}",
        "ChargeFrequency": frequency, "ChargePeriodStart": start, "ChargePeriodEnd": end,
        "ConsumedQuantity": qty if category == "Usage" and priced else None,
        "ConsumedUnit": unit if category == "Usage" and priced else None,
        "ContractedUnitPrice": price if priced else None, "ListUnitPrice": price if priced else None,
        "PricingCategory": "Standard" if category in ("Usage", "Purchase") else None,
        "PricingQuantity": qty, "PricingUnit": unit if priced else None,
        "InvoiceIssuerName": "Nimbus Cloud", "ProviderName": "Nimbus Cloud", "PublisherName": "Nimbus Cloud",
        "ServiceProviderName": "Nimbus Cloud", "HostProviderName": "Nimbus Cloud",
        "RegionId": "nimbus-west-1", "RegionName": "Nimbus West 1",
        "ResourceId": f"nimbus:{sub_id}:{service}-{n:02d}" if category == "Usage" else None,
        "ResourceName": f"{service}-{n:02d}" if category == "Usage" else None,
        "ResourceType": {"vm": "Virtual Machine", "blob": "Bucket", "sql": "Database", "support": None, "k8s": "Cluster"}[service] if category == "Usage" else None,
        "ServiceCategory": cat, "ServiceName": name, "ServiceSubcategory": subcat,
        "SkuId": sku if category in ("Usage", "Purchase") else None,
        "SkuPriceId": f"{sku}.ondemand" if category in ("Usage", "Purchase") else None,
        "SkuMeter": {"vm": "Compute Usage", "blob": "Storage Capacity", "sql": "Compute Usage", "support": "Subscription", "k8s": "Compute Usage"}[service]
                    if category in ("Usage", "Purchase") else None,
        "SubAccountId": sub_id, "SubAccountName": sub_name, "SubAccountType": "Project",
        "Tags": json.dumps(tags) if tags is not None else None,
        "InvoiceId": invoice, "PricingCurrency": "USD",
        "PricingCurrencyListUnitPrice": price if priced else None,
        "PricingCurrencyContractedUnitPrice": price if priced else None,
        "PricingCurrencyEffectiveCost": cost,
        "x_ChargeId": f"ch-{n:04d}", "x_CostCenterCode": cost_center,
    })
    if category == "Purchase":  # a commitment fee: amortised onto the usage it covers
        r["EffectiveCost"] = r["PricingCurrencyEffectiveCost"] = "0"
    return r

def price_times(price, qty):
    from decimal import Decimal
    return str(Decimal(price) * Decimal(qty))

def day(d, h=0):
    return f"2025-03-{d:02d}T{h:02d}:00:00Z"

ROWS = [
    row(1, "A", "eng", "vm", cost="12.00", qty="24", price="0.50", start=day(1), end=day(2),
        tags={"business_unit": "Engineering", "environment": "prod"}, cost_center="CC-100"),
    row(2, "A", "eng", "vm", cost="6.25", qty="12.5", price="0.50", start=day(2), end=day(3),
        tags={"business_unit": "engineering", "environment": "dev"}),           # casing of the value
    row(3, "A", "data", "blob", cost="2.40", qty="120", price="0.02", start=day(1), end=day(2),
        tags={"business_unit": "Data", "owner": "lake-team"}),
    row(4, "B", "fin", "sql", cost="3.30", qty="11", price="0.30", start=day(3), end=day(4),
        tags={"business_unit": "Finance"}),
    row(5, "A", "misc", "vm", cost="1.50", qty="3", price="0.50", start=day(4), end=day(5), tags=None),  # untagged
    row(6, "A", "eng", "vm", cost="-2.50", qty="-5", price="0.50", start=day(5), end=day(6),           # refund
        tags={"business_unit": "Engineering"}, description="Refund: Nimbus Virtual Machines vm.standard.2"),
    row(7, "B", "data", "blob", cost="0.95", qty="47.5", price="0.02", start=day(6), end=day(7),
        tags={"business_unit": "AI"}),
    row(8, "A", "eng", "vm", cost="0.75", qty="1.5", price="0.50",                                     # late charge
        start="2025-02-28T22:00:00Z", end="2025-03-01T00:00:00Z", tags={"business_unit": "Engineering"}),
    row(9, "B", "fin", "sql", cost="-0.60", qty="-2", price="0.30", klass="Correction",                # correction
        start="2025-02-10T00:00:00Z", end="2025-02-11T00:00:00Z", tags={"business_unit": "Finance"},
        description="Correction of February: Nimbus SQL sql.gp.4"),
    row(10, "B", "fin", "support", cost="29.00", qty="1", price="29.00", start=day(1), end=MARCH[1],  # purchase
        category="Purchase", frequency="Recurring", tags={"business_unit": "Finance"},
        description="Business support plan, March"),
    row(11, "A", "eng", "vm", cost="-1.20", qty=None, price=None, start=day(1), end=MARCH[1],           # credit
        category="Credit", frequency="One-Time", tags=None, description="Promotional credit"),
    row(12, "A", "data", "blob", cost="0.36", qty=None, price=None, start=day(1), end=MARCH[1],         # tax
        category="Tax", frequency="Recurring", tags=None, description="Sales tax"),
]

# FOCUS 1.3: a shared cluster's cost split by the provider over the workloads that used it; the
# workload's tags are in AllocatedTags, the cluster's own in Tags
ALLOCATED = []
for n, (workload, unit_tag, cost, hours) in enumerate((("checkout", "Engineering", "4.00", "8"),
                                                         ("etl-nightly", "Data", "2.00", "4")), start=13):
    r = row(n, "A", "eng", "k8s", cost=cost, qty=hours, price="0.50", start=day(7), end=day(8),
            tags={"cluster": "shared-1"})
    r.update({"ResourceId": "nimbus:acct-eng-01:k8s-shared-1", "ResourceName": "k8s-shared-1",
              "AllocatedMethodId": "nimbus-k8s-cpu-share", "AllocatedResourceId": f"nimbus:pod/{workload}",
              "AllocatedResourceName": workload, "AllocatedTags": json.dumps({"business_unit": unit_tag})})
    ALLOCATED.append(r)

def write(name, columns, rows, *, null="NULL", stamp=lambda s: s, transform=lambda r: r):
    buffer = io.StringIO(newline="")
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        r = transform(dict(r))
        out = []
        for c in columns:
            v = r.get(c)
            if v is None:
                out.append(null)
            elif c in ("BillingPeriodStart","BillingPeriodEnd","ChargePeriodStart","ChargePeriodEnd"):
                out.append(stamp(v))
            else:
                out.append(v)
        w.writerow(out)
    (OUT / name).write_text(buffer.getvalue())

def no_z(s):
    return s.replace("T", " ").rstrip("Z")


def lower_frequency(r):
    if r["ChargeFrequency"] == "Usage-Based":
        r["ChargeFrequency"] = "Usage-based"
    return r

for version, columns in (("1.0", V10), ("1.1", V11), ("1.2", V12), ("1.3", V13)):
    rows = ROWS + (ALLOCATED if version == "1.3" else [])
    write(f"focus-{version}_nimbus.csv", columns + CUSTOM, rows)
    write(f"focus-{version}_nimbus_defects.csv", columns + CUSTOM, rows, stamp=no_z, transform=lower_frequency)
