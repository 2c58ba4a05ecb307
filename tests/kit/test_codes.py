"""Every need domain's default Z code is a billable (leaf) ICD-10-CM code."""

import simple_icd_10_cm as icd

from socialcare.kit.codes import NEED_DOMAINS


def test_default_z_codes_are_billable():
    for domain, info in NEED_DOMAINS.items():
        if info.z_code:
            assert icd.is_valid_item(info.z_code), domain
            assert icd.is_leaf(info.z_code), f"{domain}: {info.z_code} is a header, not billable"
