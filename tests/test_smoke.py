def test_codelists__listed__contain_tech_fields(client):
    r = client.get("/api/codelists/tech_field")
    assert r.status_code == 200
    codes = [c["code"] for c in r.get_json()["codes"]]
    assert "TF01" in codes and "TF0201" in codes
