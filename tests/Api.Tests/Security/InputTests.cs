using System.Text;
using System.Text.Json;
//#if (sendsEmail)
using Api.Email;
//#endif
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Api.Tests.Security;

/// <summary>What the API accepts can be stored (PostgreSQL, the strictest store) and mailed (MimeKit, the mailer).</summary>
[Collection(InProcessApp.Name)]
public sealed class InputTests(PostgresApp app) : IClassFixture<PostgresApp>
{
    private readonly HttpClient _client = new() { BaseAddress = app.BaseAddress };

    private Task<HttpResponseMessage> SignUpAsync(string name, string email) =>
        _client.PostAsync("/api/users", new StringContent(JsonSerializer.Serialize(new { name, email }), Encoding.UTF8, "application/json"));

    public static TheoryData<string, string, string> ControlCharacters => new()
    {
        { "Nul\u0000Name", $"nul-{Guid.NewGuid():N}@example.com", "name" },
        { "Nul", $"nul\u0000-{Guid.NewGuid():N}@example.com", "email" },
        { "Header\r\nBcc: victim@example.com", $"crlf-{Guid.NewGuid():N}@example.com", "name" },
        { "Bell\u0007", $"bell-{Guid.NewGuid():N}@example.com", "name" },
        { "Escape\u001b[31m", $"esc-{Guid.NewGuid():N}@example.com", "name" },
        { "C1\u0085", $"c1-{Guid.NewGuid():N}@example.com", "name" },
    };

    [Theory]
    [MemberData(nameof(ControlCharacters))]
    public async Task Control_characters_are_400_naming_the_field(string name, string email, string field)
    {
        using var response = await SignUpAsync(name, email);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors names {field}: {problem}");
    }

    [Fact]
    public async Task An_unpaired_surrogate_which_utf_8_cannot_encode_is_400_naming_the_field()
    {
        // Written by hand: a serializer would have replaced the lone surrogate before sending.
        var body = $"{{\"name\":\"Lone \\ud800 surrogate\",\"email\":\"sur-{Guid.NewGuid():N}@example.com\"}}";
        using var response = await _client.PostAsync("/api/users", new StringContent(body, Encoding.UTF8, "application/json"));

        // The JSON reader refuses it before validation runs; its message points at the field.
        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("$.name", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    public static TheoryData<string> Undeliverable => new()
    {
        "a b@x.io", "a,b@x.io", "<a@x.io>", ".a@x.io", "a.@x.io", "a..b@x.io", "Bob <a@x.io>", "a@x.io, b@x.io", "a@x.io;b@x.io",
        "\"a b\"@x.io", "a@[127.0.0.1]", "a@localhost", "a@x..io", "a@-x.io", "a@x.io.", "@x.io", "a@", "a@b@x.io", "a(comment)@x.io",
    };

    [Theory]
    [MemberData(nameof(Undeliverable))]
    public async Task Addresses_the_mailer_cannot_take_are_400_naming_email(string email)
    {
        using var response = await SignUpAsync("Mailable", email);

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("email", out _), $"errors names email: {problem}");
    }

    [Theory]
    [InlineData("o'brien@example.com")]
    [InlineData("first.last+tag@mail.example.co.uk")]
    [InlineData("x_y-z@sub-domain.example.org")]
    [InlineData("  Padded@Example.COM  ")]
    public async Task Ordinary_addresses_are_accepted_stored_and_mailable(string email)
    {
        var unique = email.Replace("@", $"{Guid.NewGuid():N}@", StringComparison.Ordinal);
        using var response = await SignUpAsync("Ordinary O'Name – ünïcode", unique);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var stored = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("email").GetString()!;
        // The mailer's parser reads back exactly the address that was stored.
        Assert.True(MailboxAddress.TryParse(stored, out var parsed));
        Assert.Equal(stored, parsed.Address);
//#if (sendsEmail)
        Assert.Equal(stored, DeliverableAddress.Mailbox("Ordinary", stored).Address);
//#endif
    }

//#if (sendsEmail)
    [Fact]
    public async Task A_stored_address_the_mailer_cannot_take_fails_the_job_permanently()
    {
        // A row stored before the API checked addresses: the job gives up at once (PermanentJobFailureException is
        // never retried, see Email tests) instead of failing every attempt.
        using var scope = app.Services.CreateScope();
        var job = scope.ServiceProvider.GetRequiredService<WelcomeEmailJob>();

        var failure = await Assert.ThrowsAsync<PermanentEmailFailureException>(() =>
            job.SendAsync(new WelcomeEmail(Guid.CreateVersion7(), "Old row", "a b@x.io"), null, CancellationToken.None));
        Assert.Contains("a b@x.io", failure.Message, StringComparison.Ordinal);
    }
//#endif
}
