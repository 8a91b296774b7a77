"""The offline check of the generated docs page: which assets would it fetch remotely?"""

from __future__ import annotations

from pipelines.build.docs import remote_assets


def test_scripts_stylesheets_images_and_css_imports_from_the_network_are_found():
    page = (
        '<script src="https://cdn.example.org/angular.js"></script>'
        "<link rel=stylesheet href='//fonts.example.org/css?family=Lato'>"
        "<img src=http://img.example.org/logo.png>"
        "<style>@import 'https://cdn.example.org/x.css'; .a{background:url(//i.example.org/b.png)}"
        "</style>"
    )
    assert remote_assets(page) == (
        "//fonts.example.org/css?family=Lato",
        "//i.example.org/b.png",
        "http://img.example.org/logo.png",
        "https://cdn.example.org/angular.js",
        "https://cdn.example.org/x.css",
    )


def test_links_local_assets_and_urls_in_script_text_are_not_fetches():
    page = (
        '<a href="https://docs.getdbt.com/docs/introduction">docs</a>'
        '<link rel="shortcut icon" href="assets/favicon.ico"/>'
        '<script>var a = "http://[::1]"; x.src = "//d1fc8wv8zag5ca.cloudfront.net/sp.js"</script>'
        '{"metadata": {"send_anonymous_usage_stats": false}}'
    )
    assert remote_assets(page) == ()


def test_a_page_with_usage_tracking_on_is_flagged():
    page = '{"metadata": {"send_anonymous_usage_stats": true}}'
    assert len(remote_assets(page)) == 1
    assert "tracking" in remote_assets(page)[0]
