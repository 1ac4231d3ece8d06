namespace Api.Tests.Email;

/// <summary>Without an SMTP server the welcome email is written as an .eml file, in the bytes SMTP would carry.</summary>
[Collection(InProcessApp.Name)]
public sealed class PickupDirectoryTests
{
    [Fact]
    public async Task The_eml_file_has_crlf_line_endings_and_a_7bit_transfer_encoding_as_smtp_sends_it()
    {
        using var folderScope = TempFolder.Scoped("api-tests-pickup");
        var folder = folderScope.Path;
        var mail = Path.Combine(folder, "mail");
        await using var app = new PickupApp(mail);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        using var created = await client.PostAsJsonAsync("/api/users", new { name = "Zoë Ünïcode", email = "pickup@example.com" });
        created.EnsureSuccessStatusCode();

        string? file = null;
        await Eventually.HoldsAsync(() => (file = Directory.Exists(mail) ? Directory.EnumerateFiles(mail, "*.eml").FirstOrDefault() : null) is not null,
            TimeSpan.FromSeconds(60), "the .eml file");
        var bytes = await File.ReadAllBytesAsync(file!);
        var text = System.Text.Encoding.ASCII.GetString(bytes);

        Assert.All(bytes, b => Assert.True(b < 128, "7-bit: nothing an SMTP server without 8BITMIME would refuse"));
        Assert.Equal(text.Split('\n').Length - 1, text.Split("\r\n").Length - 1); // every LF is part of a CRLF
        Assert.Contains("Content-Transfer-Encoding:", text, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
    }

    private sealed class PickupApp(string mail) : ApiFactory(new Dictionary<string, string?> { ["Email:PickupDirectory"] = mail });
}
