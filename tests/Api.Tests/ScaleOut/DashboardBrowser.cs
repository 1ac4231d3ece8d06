using System.Text.RegularExpressions;

namespace Api.Tests.ScaleOut;

/// <summary>
/// A browser's view of the job dashboard across instances: cookies are kept per host, not per port (as browsers do),
/// so the same session cookie goes to whichever instance, or balancer, a request is sent to.
/// </summary>
internal sealed partial class DashboardBrowser : IDisposable
{
    private readonly CookieContainer _cookies = new();
    private readonly HttpClient _http;

    public DashboardBrowser() => _http = new HttpClient(new HttpClientHandler { CookieContainer = _cookies, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Fetches the sign-in form from <paramref name="form"/> and posts it, with its antiforgery token, to <paramref name="post"/>.</summary>
    public async Task<HttpResponseMessage> SignInAsync(Uri form, Uri post, string key)
    {
        using var page = await _http.GetAsync(new Uri(form, "/hangfire/signin"));
        page.EnsureSuccessStatusCode();
        var token = TokenField().Match(await page.Content.ReadAsStringAsync()).Groups[1].Value;
        return await _http.PostAsync(new Uri(post, "/hangfire/signin"), new FormUrlEncodedContent(
            [new("key", key), new("returnUrl", "/hangfire"), new("__RequestVerificationToken", token)]));
    }

    /// <summary>The dashboard page as a signed-in browser asks for it: 200, or 302 back to the sign-in form.</summary>
    public async Task<HttpStatusCode> DashboardAsync(Uri instance)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(instance, "/hangfire"));
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
